"""Reader for the MELD raw release (Poria et al., 2019): annotation CSVs beside folders of utterance clips.

Layout under ``root``::

    train_sent_emo.csv   train_splits/dia{D}_utt{U}.mp4
    dev_sent_emo.csv     dev_splits_complete/dia{D}_utt{U}.mp4
    test_sent_emo.csv    output_repeated_splits_test/dia{D}_utt{U}.mp4

Identifiers: MELD numbers dialogues from 0 in every split, so the table's ``dialogue_id`` is
``"{part}_dia{D}"`` with part = ``train``, ``dev`` or ``test`` (the release's own name, so an id leads to its
CSV and folder); ``utterance_id`` is MELD's ``Utterance_ID`` as a string (``"3"``); the key is
``"train_dia12/3"``. ``position`` renumbers utterances 0..n-1 because MELD's ids have gaps (``dia1`` jumps
from utterance 5 to 8). The dev part becomes split ``"validation"``.

Every clip is a whole utterance, so ``start``/``end`` are NaN; the CSV's time stamps (seconds into the
episode) are kept as ``clip_start``/``clip_end`` beside ``season``, ``episode`` and ``sentiment``.
Text goes through :func:`~multiemo.corpora.fields.clean_text` (encoding damage repaired, typographic
quotes kept). Clips are only checked for existence and non-zero size here (status ``missing_file`` /
``empty_file``); decoding a corrupt clip is the media stage's job, which counts it as ``corrupt``.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.corpus import Corpus
from multiemo.corpora.fields import clean_text, parse_timestamp, read_text_file
from multiemo.corpora.table import SPLITS, build_table, integer_column
from multiemo.errors import InputError
from multiemo.keys import utterance_key
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

#: MELD's labels in the index order used by MultiEMO and most MELD papers.
MELD_LABELS: tuple[str, ...] = ("neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger")
#: split → (release part, annotation CSV, clip folder)
MELD_PARTS: dict[str, tuple[str, str, str]] = {
    "train": ("train", "train_sent_emo.csv", "train_splits"),
    "validation": ("dev", "dev_sent_emo.csv", "dev_splits_complete"),
    "test": ("test", "test_sent_emo.csv", "output_repeated_splits_test"),
}
_REQUIRED = ("Utterance", "Speaker", "Emotion", "Dialogue_ID", "Utterance_ID", "StartTime", "EndTime")
_INFO = {"Season": "season", "Episode": "episode", "Sentiment": "sentiment"}


def read_meld(
    root: str | os.PathLike,
    *,
    require_media: bool = True,
    splits: Sequence[str] = SPLITS,
) -> Corpus:
    """Read the MELD raw release into one utterance table.

    Args:
        root: folder holding the three ``*_sent_emo.csv`` files (and the clip folders).
        require_media: True: the clip folders of the chosen splits must exist; ``media`` is each clip's
            absolute path, and missing clips are counted (``missing_file``) but kept. False: an
            annotations-only corpus for text-only training; ``media`` is "".
        splits: which of ``"train"``, ``"validation"`` (MELD's dev) and ``"test"`` to read.

    Returns:
        A :class:`Corpus` with labels :data:`MELD_LABELS` (N = 9,989 + 1,109 + 2,610 for the full release).

    Raises:
        ValueError: unknown split, missing CSV or clip folder, missing column, malformed time stamp or id,
            unknown emotion, duplicate utterance; the message names the file and row.
    """
    root = Path(root).expanduser().resolve()
    unknown = [s for s in splits if s not in MELD_PARTS]
    if unknown or not splits:
        raise InputError(f"MELD splits must be among {list(MELD_PARTS)}, got {list(splits)}")
    csvs = {s: root / MELD_PARTS[s][1] for s in splits}
    absent = [str(p) for p in csvs.values() if not p.is_file()]
    if absent:
        raise InputError(f"MELD annotation files not found: {absent}; point root at the MELD.Raw folder")
    folders = {s: root / MELD_PARTS[s][2] for s in splits}
    if require_media:
        absent = [str(p) for p in folders.values() if not p.is_dir()]
        if absent:
            raise InputError(
                f"MELD clip folders not found: {absent}. Extract the video archives of the MELD raw release "
                "there, or read the annotations only with require_media=False (text-only training, no audio "
                "or visual features: in config.yaml, `modalities: [text]` for this dataset)."
            )
    outcomes = StageOutcomes(stage="corpus")
    parts = [_read_part(csvs[s], s, folders[s] if require_media else None, outcomes) for s in splits]
    table = build_table(pd.concat(parts, ignore_index=True), order_by="_utterance_number")
    table = table.drop(columns="_utterance_number")
    log.info(
        "MELD: %d utterances in %d dialogues from %s; %s",
        len(table),
        table["dialogue_id"].nunique(),
        root,
        outcomes.counts(),
    )
    return Corpus(table=table, labels=list(MELD_LABELS), outcomes=outcomes)


def _read_part(csv_path: Path, split: str, folder: Path | None, outcomes: StageOutcomes) -> pd.DataFrame:
    part = MELD_PARTS[split][0]
    raw = pd.read_csv(io.StringIO(read_text_file(csv_path)), dtype=str, keep_default_na=False)
    raw.columns = [c.strip() for c in raw.columns]
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(
            f"{csv_path}: missing columns {missing}; a MELD annotation CSV has {list(_REQUIRED)}"
        )
    rows = _row_names(raw)
    dialogue = integer_column(raw["Dialogue_ID"], "Dialogue_ID", source=csv_path, places=rows)
    utterance = integer_column(raw["Utterance_ID"], "Utterance_ID", source=csv_path, places=rows)
    emotion = raw["Emotion"].str.strip().str.lower()
    bad = ~emotion.isin(MELD_LABELS)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{csv_path}, {rows[i]}: unknown emotion {raw['Emotion'].iat[i]!r} "
            f"({int(bad.sum())} rows in all); MELD labels are {list(MELD_LABELS)}"
        )
    clip_start = _stamps(raw["StartTime"], csv_path, rows, "StartTime")
    clip_end = _stamps(raw["EndTime"], csv_path, rows, "EndTime")
    dialogue_ids = [f"{part}_dia{d}" for d in dialogue]
    frame = pd.DataFrame(
        {
            "dialogue_id": dialogue_ids,
            "utterance_id": [str(u) for u in utterance],
            "speaker": [clean_text(s) for s in raw["Speaker"]],
            "label": emotion.to_numpy(),
            "split": split,
            "text": [clean_text(t) for t in raw["Utterance"]],
            "media": _media(folder, dialogue, utterance, dialogue_ids, outcomes),
            "start": np.nan,
            "end": np.nan,
            "face_side": "",
            "_utterance_number": utterance,
            "clip_start": clip_start,
            "clip_end": clip_end,
        }
    )
    for column, name in _INFO.items():
        if column in raw.columns:
            frame[name] = raw[column].str.strip().to_numpy()
    duplicated = frame.duplicated(["dialogue_id", "utterance_id"], keep=False)
    if duplicated.any():
        pair = rows[duplicated.to_numpy()][:2]
        raise InputError(f"{csv_path}, {pair[0]} and {pair[1]}: the same Dialogue_ID and Utterance_ID twice")
    empty_speaker = frame["speaker"] == ""
    if empty_speaker.any():
        raise InputError(f"{csv_path}, {rows[int(np.flatnonzero(empty_speaker)[0])]}: empty Speaker")
    return frame


def _media(
    folder: Path | None,
    dialogue: np.ndarray,
    utterance: np.ndarray,
    dialogue_ids: list[str],
    outcomes: StageOutcomes,
) -> list[str]:
    if folder is None:
        for d, u in zip(dialogue_ids, utterance):
            outcomes.add(utterance_key(d, str(u)))
        return [""] * len(dialogue_ids)
    present = {entry.name: entry for entry in os.scandir(folder)}  # one listing instead of 10k stat calls
    paths = []
    for d, u, dialogue_id in zip(dialogue, utterance, dialogue_ids):
        name = f"dia{d}_utt{u}.mp4"
        path = folder / name
        key = utterance_key(dialogue_id, str(u))
        entry = present.get(name)
        if entry is None:
            outcomes.add(key, "missing_file", f"{path} not found")
        elif entry.stat().st_size == 0:
            outcomes.add(key, "empty_file", f"{path} is empty (0 bytes)")
        else:
            outcomes.add(key, OK)
        paths.append(str(path))
    return paths


def _row_names(raw: pd.DataFrame) -> np.ndarray:
    """How a message names each data row: 1-based row number, plus MELD's own ``Sr No.`` when present."""
    rows = [f"row {i + 1}" for i in range(len(raw))]
    if "Sr No." in raw.columns:
        rows = [f"{row} (Sr No. {number.strip()})" for row, number in zip(rows, raw["Sr No."])]
    return np.asarray(rows, dtype=object)


def _stamps(column: pd.Series, csv_path: Path, rows: np.ndarray, name: str) -> np.ndarray:
    out = np.empty(len(column))
    for i, value in enumerate(column):
        try:
            out[i] = parse_timestamp(value)
        except ValueError as error:
            raise InputError(f"{csv_path}, {rows[i]}, {name}: {error}") from None
    return out
