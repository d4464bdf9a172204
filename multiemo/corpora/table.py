"""The utterance table: one row per utterance, the contract between corpus readers and every later stage.

Columns (in this order; readers may append extra information columns after them):

==============  =======  ================================================================================
column          type     meaning
==============  =======  ================================================================================
dialogue_id     str      unique over the whole corpus (all splits)
utterance_id    str      unique inside its dialogue; the key of an utterance is ``dialogue_id/utterance_id``
position        int      0-based order of the utterance inside its dialogue
speaker         str      speaker name (or code)
party           int      the speaker's order of first appearance inside the dialogue (0, 1, ...)
label           str      canonical label name, "" when unlabelled
split           str      "train", "validation" or "test"; a dialogue lives in one split
text            str      transcript (may be "", later stages count it)
media           str      absolute path of the clip or dialogue file, "" when there is none
start, end      float    seconds into ``media``; both NaN = the whole file
face_side       str      "", "left" or "right": which half of the frame shows the speaker
==============  =======  ================================================================================

Rows are sorted by dialogue (order of first appearance) then position.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from multiemo.errors import InputError

COLUMNS: tuple[str, ...] = (
    "dialogue_id",
    "utterance_id",
    "position",
    "speaker",
    "party",
    "label",
    "split",
    "text",
    "media",
    "start",
    "end",
    "face_side",
)
SPLITS: tuple[str, ...] = ("train", "validation", "test")
FACE_SIDES: tuple[str, ...] = ("", "left", "right")
_STR_COLUMNS = ("dialogue_id", "utterance_id", "speaker", "label", "split", "text", "media", "face_side")


def integer_column(column: pd.Series, name: str, *, source: str | os.PathLike, places) -> np.ndarray:
    """(N,) int64 of a CSV column of non-negative integers (as text, spaces allowed).

    Raises:
        ValueError: the first cell that is not one, named by ``source`` and its entry of ``places`` (e.g.
            ``"line 7"``).
    """
    values = pd.to_numeric(column.str.strip(), errors="coerce")
    bad = values.isna() | (values < 0) | (values != values.round())
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{source}, {places[i]}: {name} {column.iat[i]!r} is not a non-negative integer")
    return values.to_numpy(dtype=np.int64)


def assign_parties(dialogue_ids: pd.Series, speakers: pd.Series) -> np.ndarray:
    """Party index of each row: the speaker's order of first appearance inside its dialogue.

    Rows must already be in conversation order inside each dialogue.

    Args:
        dialogue_ids: (N,) dialogue of each row.
        speakers: (N,) speaker of each row.

    Returns:
        (N,) int64, e.g. speakers A B A C in one dialogue give 0 1 0 2.
    """
    frame = pd.DataFrame({"d": np.asarray(dialogue_ids), "s": np.asarray(speakers)})
    first = ~frame.duplicated(["d", "s"])
    # At a speaker's first row, the count of first rows so far in the dialogue is its party index.
    rank = first.astype(np.int64).groupby(frame["d"], sort=False).cumsum() - 1
    party = rank.where(first).groupby([frame["d"], frame["s"]], sort=False).transform("first")
    return party.to_numpy(dtype=np.int64)


def build_table(rows: pd.DataFrame, *, order_by: str | list[str]) -> pd.DataFrame:
    """Sort reader output into a valid utterance table and fill ``position`` and ``party``.

    Args:
        rows: every column of :data:`COLUMNS` except ``position`` and ``party`` (extra columns are kept
            after them). Dialogues are ordered by their first row here.
        order_by: column(s) giving the conversation order inside a dialogue (stable sort, ties keep row
            order).

    Returns:
        The table, index 0..N-1, columns :data:`COLUMNS` followed by the extra columns.
    """
    rows = rows.reset_index(drop=True)
    keys = [order_by] if isinstance(order_by, str) else list(order_by)
    dialogue_rank = pd.Series(pd.factorize(rows["dialogue_id"], sort=False)[0], name="_dialogue_rank")
    ordered = rows.assign(_dialogue_rank=dialogue_rank).sort_values(["_dialogue_rank", *keys], kind="stable")
    ordered = ordered.drop(columns="_dialogue_rank").reset_index(drop=True)
    ordered["position"] = ordered.groupby("dialogue_id", sort=False).cumcount().astype(np.int64)
    ordered["party"] = assign_parties(ordered["dialogue_id"], ordered["speaker"])
    for column in _STR_COLUMNS:
        ordered[column] = ordered[column].astype(object)
    for column in ("start", "end"):
        ordered[column] = ordered[column].astype(np.float64)
    extra = [c for c in ordered.columns if c not in COLUMNS]
    return ordered[list(COLUMNS) + extra]


def validate_table(df: pd.DataFrame, *, source: str, labels: list[str] | None = None) -> None:
    """Check that ``df`` is a valid utterance table; raise one ``ValueError`` naming ``source`` and the
    problem.

    Args:
        df: the table (N rows).
        source: where it came from (a file or reader name), quoted in the message.
        labels: when given, every non-empty label must be one of them.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"{source}: utterance table lacks columns {missing}; it needs {list(COLUMNS)}")
    for column in _STR_COLUMNS:
        values = df[column].to_numpy(dtype=object)
        bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
        if bad:
            raise InputError(
                f"{source}: column {column!r} must hold strings; row {bad[0]} holds {values[bad[0]]!r}"
            )
    for column in ("position", "party"):
        if not pd.api.types.is_integer_dtype(df[column]):
            raise InputError(f"{source}: column {column!r} must be integer, got dtype {df[column].dtype}")
    for column in ("start", "end"):
        if not pd.api.types.is_float_dtype(df[column]):
            raise InputError(
                f"{source}: column {column!r} must be float seconds, got dtype {df[column].dtype}"
            )
    _check_values(df, source, labels)
    _check_order(df, source)


def _check_values(df: pd.DataFrame, source: str, labels: list[str] | None) -> None:
    for column, allowed in (("split", SPLITS), ("face_side", FACE_SIDES)):
        bad = sorted(set(df[column]) - set(allowed))
        if bad:
            raise InputError(f"{source}: column {column!r} has values {bad}; allowed are {list(allowed)}")
    if labels is not None:
        unknown = sorted(set(df["label"]) - set(labels) - {""})
        if unknown:
            raise InputError(f"{source}: labels {unknown} are not among the corpus labels {list(labels)}")
    for column in ("dialogue_id", "utterance_id", "speaker"):
        if (df[column] == "").any():
            row = int(np.flatnonzero(df[column].to_numpy() == "")[0])
            raise InputError(f"{source}: row {row} has an empty {column}")
    duplicated = df.duplicated(["dialogue_id", "utterance_id"], keep=False)
    if duplicated.any():
        first = df[duplicated].iloc[0]
        raise InputError(
            f"{source}: utterance {first['dialogue_id']}/{first['utterance_id']} appears more than once"
        )
    splits_per_dialogue = df.groupby("dialogue_id", sort=False)["split"].nunique()
    if (splits_per_dialogue > 1).any():
        dialogue = splits_per_dialogue.index[splits_per_dialogue > 1][0]
        raise InputError(
            f"{source}: dialogue {dialogue!r} is spread over several splits; a dialogue needs one"
        )
    relative = [m for m in df["media"] if m and not os.path.isabs(m)]
    if relative:
        raise InputError(f"{source}: media paths must be absolute, got {relative[0]!r}")
    start, end = df["start"].to_numpy(), df["end"].to_numpy()
    one_nan = np.isnan(start) != np.isnan(end)
    reversed_ = ~np.isnan(start) & ~np.isnan(end) & ((start < 0) | (end <= start))
    for mask, what in ((one_nan, "only one of start/end set"), (reversed_, "start/end not 0 <= start < end")):
        if mask.any():
            row = int(np.flatnonzero(mask)[0])
            raise InputError(
                f"{source}: utterance {df['dialogue_id'].iat[row]}/{df['utterance_id'].iat[row]} has {what} "
                f"(start={start[row]}, end={end[row]})"
            )


def _check_order(df: pd.DataFrame, source: str) -> None:
    codes = pd.factorize(df["dialogue_id"], sort=False)[0]
    if len(codes) and (np.diff(codes) < 0).any():
        row = int(np.flatnonzero(np.diff(codes) < 0)[0]) + 1
        raise InputError(
            f"{source}: rows of dialogue {df['dialogue_id'].iat[row]!r} are not contiguous; "
            "sort by dialogue (first appearance) then position"
        )
    expected = df.groupby("dialogue_id", sort=False).cumcount().to_numpy()
    if not np.array_equal(df["position"].to_numpy(), expected):
        row = int(np.flatnonzero(df["position"].to_numpy() != expected)[0])
        raise InputError(
            f"{source}: utterance {df['dialogue_id'].iat[row]}/{df['utterance_id'].iat[row]} has position "
            f"{df['position'].iat[row]}, expected {expected[row]} (positions run 0..n-1 in row order)"
        )
    parties = assign_parties(df["dialogue_id"], df["speaker"])
    if not np.array_equal(df["party"].to_numpy(), parties):
        row = int(np.flatnonzero(df["party"].to_numpy() != parties)[0])
        raise InputError(
            f"{source}: utterance {df['dialogue_id'].iat[row]}/{df['utterance_id'].iat[row]} has party "
            f"{df['party'].iat[row]}, expected {parties[row]} (order of first appearance of the speaker)"
        )


def seeded_validation(dialogues, fraction: float, seed: int) -> set:
    """A seeded ``fraction`` of ``dialogues`` (at least one when there are two or more) to validate on.

    The draw depends only on the set of dialogue ids, the fraction and the seed (ids are sorted first), so
    the same inputs give the same split on every machine. Readers and importers record ``(fraction, seed)``.
    """
    if not 0.0 <= fraction < 1.0:
        raise InputError(f"validation fraction must be in [0, 1), got {fraction}")
    pool = sorted(set(dialogues), key=str)
    count = round(fraction * len(pool))
    if fraction > 0 and len(pool) >= 2:
        count = min(max(count, 1), len(pool) - 1)
    chosen = np.random.default_rng(seed).permutation(len(pool))[:count]
    return {pool[i] for i in chosen}
