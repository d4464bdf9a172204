"""Reader for EmoryNLP (Zahiri & Choi, 2018): Friends scenes annotated with 7 emotions, text only.

The official CSV release (``emorynlp_{train,dev,test}_final.csv``) has the columns ``Utterance, Speaker,
Emotion, Scene_ID, Utterance_ID, Season, Episode, Start_Time, End_Time``. A scene is identified by (Season,
Episode, Scene_ID) and its utterances are in ``Utterance_ID`` order; the table's ``dialogue_id`` is
``"{part}_s{Season}_e{Episode}_c{Scene_ID}"`` (part = train, dev or test) and ``utterance_id`` the
``Utterance_ID``. The dev part becomes split ``"validation"``.

``Speaker`` is written as a Python list literal (``['Monica Geller']``, sometimes several names or none); it
is parsed with :func:`ast.literal_eval` (literals only, nothing runs). Several speakers become one speaker
``"A & B"``; an empty list becomes ``"unknown"``. There is no media: ``media`` is "" everywhere.
"""

from __future__ import annotations

import ast
import io
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.corpus import Corpus
from multiemo.corpora.fields import clean_text, read_text_file
from multiemo.corpora.table import build_table, integer_column
from multiemo.errors import InputError
from multiemo.keys import utterance_key
from multiemo.outcomes import StageOutcomes

log = logging.getLogger(__name__)

#: Label index order of COSMIC's EmoryNLP features, so that a store read from the CSVs and one imported from
#: ``emorynlp_features_roberta.pkl`` number the classes alike.
EMORYNLP_LABELS: tuple[str, ...] = ("Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared")
#: split → (release part, annotation CSV)
EMORYNLP_PARTS: dict[str, tuple[str, str]] = {
    "train": ("train", "emorynlp_train_final.csv"),
    "validation": ("dev", "emorynlp_dev_final.csv"),
    "test": ("test", "emorynlp_test_final.csv"),
}
_REQUIRED = ("Utterance", "Speaker", "Emotion", "Scene_ID", "Utterance_ID", "Season", "Episode")


def read_emorynlp(root: str | os.PathLike) -> Corpus:
    """Read the three EmoryNLP CSVs in ``root`` into one utterance table (labels :data:`EMORYNLP_LABELS`).

    Raises:
        ValueError: a missing CSV or column, a non-integer id, an unknown emotion, a malformed Speaker cell,
            a repeated utterance; the message names the file and line.
    """
    root = Path(root).expanduser().resolve()
    csvs = {split: root / name for split, (_, name) in EMORYNLP_PARTS.items()}
    absent = [str(p) for p in csvs.values() if not p.is_file()]
    if absent:
        raise InputError(f"EmoryNLP annotation files not found: {absent}; point root at the folder holding "
                         "them")
    outcomes = StageOutcomes(stage="corpus")
    parts = [_read_part(path, split, outcomes) for split, path in csvs.items()]
    table = build_table(pd.concat(parts, ignore_index=True), order_by="_utterance_number")
    table = table.drop(columns="_utterance_number")
    log.info("EmoryNLP: %d utterances in %d scenes from %s", len(table), table["dialogue_id"].nunique(), root)
    return Corpus(table=table, labels=list(EMORYNLP_LABELS), outcomes=outcomes)


def _read_part(path: Path, split: str, outcomes: StageOutcomes) -> pd.DataFrame:
    raw = pd.read_csv(io.StringIO(read_text_file(path)), dtype=str, keep_default_na=False)
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}; an EmoryNLP CSV has {list(_REQUIRED)}")
    lines = np.arange(len(raw)) + 2  # the header is line 1; cells hold no line breaks in the release
    places = [f"line {line}" for line in lines]
    ids = {c: integer_column(raw[c], c, source=path, places=places)
           for c in ("Season", "Episode", "Scene_ID", "Utterance_ID")}
    emotion = raw["Emotion"].str.strip()
    bad = ~emotion.isin(EMORYNLP_LABELS)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{path}, line {lines[i]}: unknown emotion {raw['Emotion'].iat[i]!r}; EmoryNLP "
                         f"labels are {list(EMORYNLP_LABELS)}")
    part = EMORYNLP_PARTS[split][0]
    dialogue_ids = [f"{part}_s{s}_e{e}_c{c}" for s, e, c in zip(ids["Season"], ids["Episode"],
                                                                ids["Scene_ID"])]
    frame = pd.DataFrame({
        "dialogue_id": dialogue_ids,
        "utterance_id": [str(u) for u in ids["Utterance_ID"]],
        "speaker": [_speaker(cell, path, line) for cell, line in zip(raw["Speaker"], lines)],
        "label": emotion.to_numpy(),
        "split": split,
        "text": [clean_text(t) for t in raw["Utterance"]],
        "media": "",
        "start": np.nan,
        "end": np.nan,
        "face_side": "",
        "_utterance_number": ids["Utterance_ID"],
        "season": ids["Season"],
        "episode": ids["Episode"],
    })
    duplicated = frame.duplicated(["dialogue_id", "utterance_id"], keep=False)
    if duplicated.any():
        first, second = lines[duplicated.to_numpy()][:2]
        raise InputError(f"{path}, lines {first} and {second}: the same scene and Utterance_ID twice")
    for dialogue, utterance in zip(frame["dialogue_id"], frame["utterance_id"]):
        outcomes.add(utterance_key(dialogue, utterance))
    return frame


def _speaker(cell: str, path: Path, line: int) -> str:
    """``"['Monica Geller']"`` → ``"Monica Geller"``; a literal list of names only, never evaluated code."""
    try:
        names = ast.literal_eval(cell.strip())
    except (ValueError, SyntaxError):
        names = None
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise InputError(f"{path}, line {line}: Speaker {cell!r} is not a list of names like ['Monica "
                         "Geller']")
    names = [clean_text(n) for n in names if n.strip()]
    return " & ".join(names) if names else "unknown"
