"""The utterance table every extractor reads, checked once and walked row by row."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import NamedTuple, TypeVar

import pandas as pd
from tqdm.auto import tqdm

from multiemo.features.media import MediaError
from multiemo.keys import utterance_key
from multiemo.outcomes import StageOutcomes

REQUIRED_COLUMNS = ("dialogue_id", "utterance_id", "media", "start", "end")
NO_MEDIA = "no_media"
FACE_SIDES = ("", "left", "right")

T = TypeVar("T")


class Utterance(NamedTuple):
    """One row of the table: ``start``/``end`` are seconds into ``media`` (None = file start/end)."""

    key: str
    media: str
    start: float | None
    end: float | None
    face_side: str


def check_table(table: pd.DataFrame) -> None:
    """Raise ``ValueError`` naming the missing columns, so a malformed table fails before any decoding."""
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"utterance table lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)} "
            f"(and optionally 'face_side') and has {list(table.columns)}"
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


def load_each(
    table: pd.DataFrame,
    load: Callable[[Utterance], T],
    outcomes: StageOutcomes,
    *,
    progress: bool = True,
) -> Iterator[tuple[int, Utterance, T]]:
    """``(row, utterance, load(utterance))`` for every row whose media loads, in table order.

    Rows without media (status ``no_media``) and rows where ``load`` raises :class:`MediaError` (its
    status: ``missing_file``, ``corrupt``, ...) are recorded in ``outcomes`` and skipped; the caller
    records the outcome of the rows it is given.
    """
    for row, utt in enumerate(iter_utterances(table, desc=outcomes.stage, progress=progress)):
        if not utt.media:
            outcomes.add(utt.key, NO_MEDIA, "no media file listed for this utterance")
            continue
        try:
            loaded = load(utt)
        except MediaError as exc:
            outcomes.add(utt.key, exc.status, str(exc))
            continue
        yield row, utt, loaded


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _seconds(value: object) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value
