"""Reader for a user's own corpus described by a manifest CSV (columns documented in ``MANIFEST.md``)."""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.corpus import Corpus
from multiemo.corpora.fields import clean_text, parse_seconds, read_text_file
from multiemo.corpora.table import COLUMNS, FACE_SIDES, SPLITS, build_table, validate_table
from multiemo.errors import InputError
from multiemo.keys import utterance_key
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = (
    "dialogue_id",
    "utterance_id",
    "speaker",
    "text",
    "label",
    "split",
)
#: ``media`` may be left out: a manifest without it (or with it empty everywhere) is a text-only corpus.
OPTIONAL_COLUMNS: tuple[str, ...] = ("media", "start", "end", "face_side")
#: Other spellings accepted in the ``split`` column.
SPLIT_ALIASES: dict[str, str] = {"dev": "validation", "valid": "validation", "val": "validation"}


def read_manifest(
    path: str | os.PathLike,
    *,
    labels: Sequence[str] | None = None,
    defaults: Mapping[str, str] | None = None,
) -> Corpus:
    """Read a manifest CSV (UTF-8, one row per utterance) into an utterance table.

    Rows of a dialogue are in conversation order (they need not be contiguous); dialogues keep the order of
    their first row. Relative ``media`` paths are taken from the manifest's folder. A media file that does
    not exist is counted (``missing_file``) and kept, so the media stage counts it too.

    Args:
        path: the manifest CSV.
        labels: label names in index order; when given, every non-empty label must be one of them;
            otherwise the sorted unique non-empty labels of the manifest.
        defaults: values of required columns the file may leave out, e.g. ``{"label": "", "split": "test"}``
            for prediction, where no label or split is known.

    Returns:
        A :class:`Corpus` with one row per manifest row. Extra manifest columns are kept after the table's.

    Raises:
        ValueError: missing column, unknown split, unknown label, non-numeric or reversed start/end, bad
            face_side, duplicate (dialogue_id, utterance_id), a dialogue in two splits; the message names the
            file and line.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"manifest {path} not found")
    source = str(path)
    raw, lines = read_manifest_rows(path)
    for column, value in ({"media": ""} | dict(defaults or {})).items():
        if column not in raw.columns:
            raw[column] = value
    missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if missing:
        raise InputError(
            f"{source}: missing columns {missing}; a manifest needs {list(REQUIRED_COLUMNS)} "
            f"(optional: {list(OPTIONAL_COLUMNS)}), see MANIFEST.md"
        )
    for column in ("dialogue_id", "utterance_id", "speaker"):
        empty = raw[column] == ""
        if empty.any():
            raise InputError(f"{source}, line {lines[_first(empty)]}: empty {column}")
    split = raw["split"].str.lower().map(lambda s: SPLIT_ALIASES.get(s, s))
    bad = ~split.isin(SPLITS)
    if bad.any():
        raise InputError(
            f"{source}, line {lines[_first(bad)]}: unknown split {raw['split'].iat[_first(bad)]!r}; "
            f"use one of {list(SPLITS)} (or {sorted(SPLIT_ALIASES)} for validation)"
        )
    if labels is not None:
        labels = list(labels)
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated or not all(labels):
            raise InputError(f"the label list {labels} for {source} " + (f"names {repeated} more than once"
                             if repeated else "has an empty name") + "; give each label once, in index order")
        bad = ~raw["label"].isin(labels) & (raw["label"] != "")
        if bad.any():
            raise InputError(
                f"{source}, line {lines[_first(bad)]}: unknown label {raw['label'].iat[_first(bad)]!r}; "
                f"allowed labels are {labels} (or empty for unlabelled)"
            )
    else:
        labels = sorted(set(raw["label"]) - {""})
    duplicated = raw.duplicated(["dialogue_id", "utterance_id"], keep=False)
    if duplicated.any():
        first = np.flatnonzero(duplicated.to_numpy())[:2]
        raise InputError(
            f"{source}, lines {lines[first[0]]} and {lines[first[1]]}: utterance "
            f"{raw['dialogue_id'].iat[first[0]]}/{raw['utterance_id'].iat[first[0]]} appears twice; "
            "(dialogue_id, utterance_id) must be unique"
        )
    start, end = _segments(raw, lines, source)
    outcomes = StageOutcomes(stage="corpus")
    rows = pd.DataFrame(
        {
            "dialogue_id": raw["dialogue_id"],
            "utterance_id": raw["utterance_id"],
            "speaker": raw["speaker"],
            "label": raw["label"],
            "split": split,
            "text": [clean_text(t) for t in raw["text"]],
            "media": _media(raw, path.parent, outcomes),
            "start": start,
            "end": end,
            "face_side": _face_sides(raw, lines, source),
            "_row": np.arange(len(raw)),
        }
    )
    computed = [c for c in ("position", "party") if c in raw.columns]
    if computed:
        log.warning(
            "%s: ignoring columns %s; they are computed from row order and speakers", source, computed
        )
    extra = [c for c in raw.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS + COLUMNS]
    rows = pd.concat([rows, raw[extra]], axis=1)
    table = build_table(rows, order_by="_row").drop(columns="_row")
    validate_table(table, source=source, labels=labels)
    log.info(
        "manifest %s: %d utterances in %d dialogues; %s",
        source,
        len(table),
        table["dialogue_id"].nunique(),
        outcomes.counts(),
    )
    return Corpus(table=table, labels=labels, outcomes=outcomes)


def manifest_has_media(path: str | os.PathLike) -> bool:
    """Whether any row of the manifest names a media file (False: a text-only corpus)."""
    raw, _ = read_manifest_rows(Path(path).expanduser())
    return "media" in raw.columns and bool((raw["media"] != "").any())


def read_manifest_rows(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """All cells as stripped strings, and the file line where each row starts (for messages).

    Raises:
        ValueError: an empty file, a row whose cell count differs from the header's, a repeated column name.
    """
    reader = csv.reader(io.StringIO(read_text_file(path), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise InputError(f"{path}: the manifest is empty; it needs a header row") from None
    records, lines, next_line = [], [], reader.line_num + 1
    for record in reader:
        if any(cell.strip() for cell in record):
            if len(record) != len(header):
                raise InputError(
                    f"{path}, line {next_line}: {len(record)} cells but the header has {len(header)}"
                )
            records.append([cell.strip() for cell in record])
            lines.append(next_line)
        next_line = reader.line_num + 1
    if not records:
        raise InputError(f"{path}: the manifest has a header but no rows")
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise InputError(f"{path}: columns {duplicated} appear more than once in the header")
    return pd.DataFrame(records, columns=header, dtype=object), np.asarray(lines)


def _segments(raw: pd.DataFrame, lines: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    start, end = np.full(len(raw), np.nan), np.full(len(raw), np.nan)
    for name, out in (("start", start), ("end", end)):
        if name not in raw.columns:
            continue
        for i, value in enumerate(raw[name]):
            try:
                out[i] = parse_seconds(value)
            except ValueError as error:
                raise InputError(f"{source}, line {lines[i]}, column {name}: {error}") from None
    for i in range(len(raw)):
        if np.isnan(start[i]) != np.isnan(end[i]):
            raise InputError(
                f"{source}, line {lines[i]}: give both start and end, or neither (= the whole file)"
            )
        if not np.isnan(start[i]) and not 0 <= start[i] < end[i]:
            raise InputError(
                f"{source}, line {lines[i]}: start {start[i]} and end {end[i]} must satisfy 0 <= start < end"
            )
    return start, end


def _face_sides(raw: pd.DataFrame, lines: np.ndarray, source: str) -> list[str]:
    if "face_side" not in raw.columns:
        return [""] * len(raw)
    sides = [side.lower() for side in raw["face_side"]]
    for i, side in enumerate(sides):
        if side not in FACE_SIDES:
            raise InputError(
                f"{source}, line {lines[i]}: face_side {side!r} must be 'left', 'right' or empty"
            )
    return sides


def _media(raw: pd.DataFrame, base: Path, outcomes: StageOutcomes) -> list[str]:
    paths = []
    for dialogue, utterance, media in zip(raw["dialogue_id"], raw["utterance_id"], raw["media"]):
        key = utterance_key(dialogue, utterance)
        if not media:
            outcomes.add(key, OK)
            paths.append("")
            continue
        path = Path(os.path.abspath(base / Path(media).expanduser()))
        if not path.is_file():
            outcomes.add(key, "missing_file", f"{path} not found")
        elif path.stat().st_size == 0:
            outcomes.add(key, "empty_file", f"{path} is empty (0 bytes)")
        else:
            outcomes.add(key, OK)
        paths.append(str(path))
    return paths


def _first(mask: pd.Series) -> int:
    return int(np.flatnonzero(mask.to_numpy())[0])
