"""A read corpus: the utterance table, its label names and the per-utterance outcomes of the reading."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.table import COLUMNS, validate_table
from multiemo.errors import InputError
from multiemo.io import OutputKind, atomic_path
from multiemo.keys import utterance_key
from multiemo.outcomes import StageOutcomes

log = logging.getLogger(__name__)

TABLE_FILE = "utterances.csv"
META_FILE = "corpus.json"
#: What a corpus folder holds: only such a folder is replaced by :meth:`Corpus.save`.
CORPUS_FOLDER = OutputKind("corpus folder", META_FILE, (TABLE_FILE, META_FILE))


@dataclass
class Corpus:
    """What every reader returns.

    Attributes:
        table: the utterance table (see :mod:`multiemo.corpora.table`), N rows.
        labels: label names in index order (label index i = ``labels[i]``).
        outcomes: stage ``"corpus"``; one status per utterance the reader met, ``ok`` or a problem such as
            ``missing_file`` (utterance kept, media path kept so the media stage counts it too) or
            ``label_excluded`` (utterance dropped from the table; IEMOCAP classes outside ``labels``).
    """

    table: pd.DataFrame
    labels: list[str]
    outcomes: StageOutcomes

    def __post_init__(self) -> None:
        validate_table(self.table, source="corpus table", labels=self.labels)

    def keys(self) -> list[str]:
        """(N,) utterance keys ``"{dialogue_id}/{utterance_id}"`` in table order."""
        return [utterance_key(d, u) for d, u in zip(self.table["dialogue_id"], self.table["utterance_id"])]

    def label_ids(self) -> np.ndarray:
        """(N,) int64 label index per utterance, -1 where unlabelled."""
        index = {label: i for i, label in enumerate(self.labels)}
        return np.array([index.get(label, -1) for label in self.table["label"]], dtype=np.int64)

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``utterances.csv`` (UTF-8) and ``corpus.json`` (labels, outcomes) into a new directory,
        atomically."""
        directory = Path(directory)
        with atomic_path(directory, CORPUS_FOLDER) as tmp:
            tmp.mkdir()
            self.table.to_csv(tmp / TABLE_FILE, index=False, encoding="utf-8")
            meta = {"labels": self.labels, "report": self.outcomes.to_dict()}
            (tmp / META_FILE).write_text(
                json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        log.info("wrote corpus of %d utterances to %s", len(self.table), directory)
        return directory

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Corpus:
        """Read a directory written by :meth:`save`."""
        directory = Path(directory)
        for name in (TABLE_FILE, META_FILE):
            if not (directory / name).is_file():
                raise InputError(
                    f"{directory}: no {name}; is this a corpus directory written by Corpus.save?"
                )
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        string_columns = [c for c in COLUMNS if c not in ("position", "party", "start", "end")]
        table = pd.read_csv(
            directory / TABLE_FILE,
            dtype={c: str for c in string_columns} | {"start": float, "end": float},
            keep_default_na=False,
            na_values={"start": [""], "end": [""]},
            encoding="utf-8",
        )
        return cls(
            table=table, labels=list(meta["labels"]), outcomes=StageOutcomes.from_dict(meta["report"])
        )
