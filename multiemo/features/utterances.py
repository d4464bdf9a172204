"""The utterance table every extractor reads, checked once and walked row by row."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import NamedTuple

import pandas as pd
from tqdm.auto import tqdm

from multiemo.features.base import utterance_key

REQUIRED_COLUMNS = ("dialogue_id", "utterance_id", "media", "start", "end")
NO_MEDIA = "no_media"
FACE_SIDES = ("", "left", "right")


class Utterance(NamedTuple):
    """One row of the table: ``start``/``end`` are seconds into ``media`` (None = file start/end)."""

    key: str
    media: str
    start: float | None
    end: float | None
    face_side: str


def check_table(table: pd.DataFrame, *, extra: tuple[str, ...] = ()) -> None:
    """Raise ``ValueError`` naming the missing columns, so a malformed table fails before any decoding."""
    missing = [c for c in (*REQUIRED_COLUMNS, *extra) if c not in table.columns]
    if missing:
        raise ValueError(
            f"utterance table lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS + extra)} "
            f"and has {list(table.columns)}"
        )


def iter_utterances(table: pd.DataFrame, *, desc: str, progress: bool = True) -> Iterator[Utterance]:
    """Rows of a checked table as :class:`Utterance`, in table order, with a tqdm bar (``progress``)."""
    check_table(table)
    has_side = "face_side" in table.columns
    rows = table.itertuples(index=False)
    for row in tqdm(rows, total=len(table), desc=desc, unit="utt", disable=not progress):
        key = utterance_key(row.dialogue_id, row.utterance_id)
        side = _text(row.face_side).lower() if has_side else ""
        if side not in FACE_SIDES:
            raise ValueError(f"utterance {key}: face_side must be one of {FACE_SIDES}, got {side!r}")
        yield Utterance(
            key=key,
            media=_text(row.media),
            start=_seconds(row.start),
            end=_seconds(row.end),
            face_side=side,
        )


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
