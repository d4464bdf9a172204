"""Bring your own features: a manifest CSV plus one array source per modality → a feature store.

The manifest is the documented own-corpus format (``multiemo/corpora/MANIFEST.md``; ``media`` optional). It
may also carry ``position`` (0-based order inside the dialogue; rows are then ordered by it) and ``party``
(the speaker's index inside the dialogue); both are checked, and parties are renumbered by first appearance.

Array sources, chosen by the file's suffix:

* ``.npy``: (N, d), row i belongs to the manifest's i-th data row (file order).
* ``.npz`` / ``.pkl`` / ``.pickle``: dialogue id → (n_utterances, d) array in position order. Pickles go
  through the restricted unpickler (:mod:`multiemo.data.pickles`).
* ``.csv``: one row per utterance with ``dialogue_id`` and ``utterance_id`` columns (or ``utterance_id`` alone
  when it is unique over the corpus); every other column is a feature.

An utterance a source does not cover (an absent dialogue, a missing CSV row) gets zeros with ``present =
False`` and is counted; everything else wrong stops with one message naming the file and the place.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.manifest import read_manifest, read_manifest_rows
from multiemo.corpora.table import assign_parties, seeded_validation
from multiemo.data.pickles import load_pickle
from multiemo.data.store import STORE_FOLDER, TABLE_COLUMNS, FeatureStore, write_store
from multiemo.errors import InputError
from multiemo.io import check_output_dir
from multiemo.keys import utterance_key

log = logging.getLogger(__name__)

SUFFIXES = (".npy", ".npz", ".pkl", ".pickle", ".csv")


def import_features(
    manifest: str | os.PathLike,
    sources: Mapping[str, str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    labels: Sequence[str] | None = None,
    name: str | None = None,
    validation_fraction: float = 0.1,
    seed: int = 0,
) -> FeatureStore:
    """Write the store of ``manifest`` with one modality per entry of ``sources``.

    Args:
        manifest: the manifest CSV.
        sources: modality name → array file (see the module docstring for the forms).
        out_dir: the store directory to create (written atomically; an earlier store is replaced, any other
            non-empty folder or a folder holding an input is refused).
        labels: label names in index order; default the sorted labels of the manifest.
        name: dataset name recorded in the store (default: the manifest's folder name).
        validation_fraction, seed: when no row has split ``validation``, this seeded fraction of the training
            dialogues becomes the validation split; the choice is recorded in ``store.json``.

    Raises:
        ValueError: naming the file and the dialogue/row of the first problem; nothing is written.
        multiemo.io.OutputRefused: ``out_dir`` is not a store or holds an input.
    """
    manifest = Path(manifest)
    if not sources:
        raise InputError("give at least one modality's features, e.g. --features text=text.npy")
    check_output_dir(out_dir, STORE_FOLDER, inputs=[manifest, *sources.values()])
    corpus = read_manifest(manifest, labels=labels)
    raw, lines = read_manifest_rows(manifest)
    table = corpus.table.reset_index(drop=True)
    row_of_key = {utterance_key(d, u): i for i, (d, u) in enumerate(zip(raw["dialogue_id"],
                                                                        raw["utterance_id"]))}
    # table row → manifest data row
    raw_rows = np.array([row_of_key[utterance_key(d, u)]
                         for d, u in zip(table["dialogue_id"], table["utterance_id"])])
    table, raw_rows = _apply_positions(manifest, raw, lines, table, raw_rows)
    _check_parties(manifest, raw, lines, table, raw_rows)
    how = _validation(table, validation_fraction, seed)

    features, present, provenance, missing = {}, {}, {}, {}
    for modality, source in sources.items():
        values, mask = _load_source(Path(source), table, raw_rows)
        if values.shape[1] == 0 or not mask.any():
            raise InputError(f"{source}: gives {modality} no usable feature ("
                             + ("0 columns" if values.shape[1] == 0
                                else "none of its rows or dialogues is one of the manifest's")
                             + "); a modality without features cannot be trained on")
        features[modality], present[modality] = values, mask
        missing[modality] = int((~mask).sum())
        provenance[modality] = {"extractor": "imported", "file": str(Path(source).resolve())}
        if missing[modality]:
            log.warning("%s: %d of %d utterances have no %s features (present = False)",
                        source, missing[modality], len(table), modality)
    return write_store(
        out_dir, name=name or manifest.resolve().parent.name, table=table[list(TABLE_COLUMNS)],
        labels=corpus.labels, features=features, present=present, provenance=provenance,
        metadata={"source": "import-features", "manifest": str(manifest.resolve()), "validation_split": how,
                  "missing": missing},
    )


def _apply_positions(manifest: Path, raw: pd.DataFrame, lines: np.ndarray, table: pd.DataFrame,
                     raw_rows: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Order each dialogue by the manifest's ``position`` column, when it has one, after checking it."""
    if "position" not in raw.columns:
        return table, raw_rows
    given = np.empty(len(raw), dtype=np.int64)
    for i, text in enumerate(raw["position"]):
        try:
            given[i] = int(text)
        except ValueError:
            raise InputError(f"{manifest}, line {lines[i]}: position {text!r} is not an integer") from None
    seen: dict[tuple[str, int], int] = {}
    for i, (dialogue, position) in enumerate(zip(raw["dialogue_id"], given)):
        if (dialogue, position) in seen:
            raise InputError(f"{manifest}, lines {lines[seen[dialogue, position]]} and {lines[i]}: dialogue "
                             f"{dialogue!r} has position {position} twice")
        seen[dialogue, position] = i
    for dialogue, rows in raw.groupby("dialogue_id", sort=False).indices.items():
        positions = set(given[rows].tolist())
        absent = sorted(set(range(len(rows))) - positions)
        if absent:
            extra = sorted(positions - set(range(len(rows))))
            raise InputError(f"{manifest}, line {lines[rows[0]]}: dialogue {dialogue!r} has {len(rows)} rows "
                             f"but no position {absent[0]} (positions run 0..{len(rows) - 1}; found "
                             f"{extra[0]})")
    order = np.lexsort((given[raw_rows], pd.factorize(table["dialogue_id"], sort=False)[0]))
    table, raw_rows = table.iloc[order].reset_index(drop=True), raw_rows[order]
    table["position"] = given[raw_rows]
    table["party"] = assign_parties(table["dialogue_id"], table["speaker"])
    return table, raw_rows


def _check_parties(manifest: Path, raw: pd.DataFrame, lines: np.ndarray, table: pd.DataFrame,
                   raw_rows: np.ndarray) -> None:
    """A ``party`` column must map speakers one-to-one inside each dialogue (then parties are renumbered)."""
    if "party" not in raw.columns:
        return
    by_speaker: dict[tuple[str, str], tuple[str, int]] = {}
    by_party: dict[tuple[str, str], tuple[str, int]] = {}
    for i in raw_rows:
        dialogue, speaker, party = raw["dialogue_id"].iat[i], raw["speaker"].iat[i], raw["party"].iat[i]
        for index, key, value, what in ((by_speaker, speaker, party, "speaker"),
                                        (by_party, party, speaker, "party")):
            earlier = index.setdefault((dialogue, key), (value, i))
            if earlier[0] != value:
                raise InputError(
                    f"{manifest}, line {lines[i]}: in dialogue {dialogue!r} {what} {key!r} is "
                    f"{'party' if what == 'speaker' else 'speaker'} {value!r} here but {earlier[0]!r} on "
                    f"line {lines[earlier[1]]}; inside a dialogue one speaker is one party"
                )


def _validation(table: pd.DataFrame, fraction: float, seed: int) -> str:
    if (table["split"] == "validation").any():
        return "given in the manifest"
    train = table.loc[table["split"] == "train", "dialogue_id"].unique()
    if fraction <= 0 or len(train) < 2:
        raise InputError("the manifest has no validation rows and no validation fraction can be drawn; give "
                         "split=validation rows or a validation fraction > 0 with two or more training "
                         "dialogues")
    chosen = seeded_validation(train, fraction, seed)
    table.loc[table["dialogue_id"].isin(chosen), "split"] = "validation"
    return f"seeded {fraction:.0%} of training dialogues (seed {seed}): {len(chosen)} of {len(train)}"


def _load_source(path: Path, table: pd.DataFrame, raw_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, d) float32 in table order and the (N,) presence mask."""
    if path.suffix.lower() not in SUFFIXES:
        raise InputError(f"{path}: unknown feature file type {path.suffix!r}; use one of {list(SUFFIXES)}")
    if not path.is_file():
        raise FileNotFoundError(f"feature file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _from_rows(path, table, raw_rows)
    if suffix == ".csv":
        return _from_csv(path, table)
    if suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as archive:
                mapping = {key: archive[key] for key in archive.files}
        except (ValueError, OSError) as err:
            raise InputError(f"{path} is not a readable .npz of plain arrays: {err}") from None
    else:
        mapping = load_pickle(path)
        if not isinstance(mapping, dict):
            raise InputError(f"{path}: expected a dict of dialogue id to array, got {type(mapping).__name__}")
    return _from_dialogues(path, mapping, table)


def _from_rows(path: Path, table: pd.DataFrame, raw_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise InputError(f"{path} is not a readable .npy of numbers: {err}") from None
    if values.ndim != 2 or values.shape[0] != len(table):
        raise InputError(f"{path}: shape {values.shape}, expected ({len(table)}, d): one row per manifest "
                         "row, in the manifest's order")
    values = _numeric(path, values)
    _check_finite(path, values[raw_rows], table, lambda row: f"array row {raw_rows[row]}")
    return values[raw_rows], np.ones(len(table), dtype=bool)


def _from_dialogues(path: Path, mapping: dict, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    by_id = {str(key): value for key, value in mapping.items()}
    dialogues = table.groupby("dialogue_id", sort=False).indices
    unknown = sorted(set(by_id) - set(dialogues))
    if unknown:
        log.warning("%s: %d dialogues are not in the manifest and are ignored (e.g. %r)", path, len(unknown),
                    unknown[0])
    blocks = {dialogue: _numeric(path, by_id[dialogue], where=f"dialogue {dialogue!r}")
              for dialogue in dialogues if dialogue in by_id}
    dim = {block.shape[-1] for block in blocks.values() if block.ndim == 2}
    if len(dim) != 1:
        raise InputError(f"{path}: dialogues must hold (n_utterances, d) arrays of one width d; found widths "
                         f"{sorted(dim) or 'none'} among the manifest's dialogues")
    values = np.zeros((len(table), dim.pop()), dtype=np.float32)
    present = np.zeros(len(table), dtype=bool)
    for dialogue, rows in dialogues.items():
        if dialogue not in blocks:
            continue
        block = blocks[dialogue]
        if block.shape != (len(rows), values.shape[1]):
            raise InputError(f"{path}: dialogue {dialogue!r} has features of shape {block.shape}; the "
                             f"manifest has {len(rows)} utterances, so ({len(rows)}, {values.shape[1]}) is "
                             "expected")
        values[rows], present[rows] = block, True
    _check_finite(path, values, table, lambda row: f"utterance {table['position'].iat[row]} of the dialogue")
    return values, present


def _from_csv(path: Path, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    try:
        frame = pd.read_csv(path, dtype={"dialogue_id": str, "utterance_id": str}, keep_default_na=False,
                            encoding="utf-8")
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty: a features CSV needs a header (utterance_id, dialogue_id and one "
                         "column per feature) and one row per utterance") from None
    except (ValueError, UnicodeDecodeError) as err:  # pandas' ParserError is a ValueError
        raise InputError(f"{path} is not a readable CSV ({' '.join(str(err).split())[:200]})") from None
    if "utterance_id" not in frame.columns:
        raise InputError(f"{path}: needs an utterance_id column (and dialogue_id unless utterance ids are "
                         "unique)")
    if "dialogue_id" in frame.columns:
        keys, ours = list(zip(frame["dialogue_id"], frame["utterance_id"])), list(zip(table["dialogue_id"],
                                                                                     table["utterance_id"]))
        id_columns = ["dialogue_id", "utterance_id"]
    else:
        if table["utterance_id"].duplicated().any():
            raise InputError(f"{path}: has no dialogue_id column, but utterance ids repeat across the "
                             "manifest's dialogues; add a dialogue_id column")
        keys, ours, id_columns = list(frame["utterance_id"]), list(table["utterance_id"]), ["utterance_id"]
    line: dict = {}
    for i, key in enumerate(keys):
        if key in line:
            raise InputError(f"{path}, lines {line[key]} and {i + 2}: utterance {key!r} appears twice")
        line[key] = i + 2  # the header is line 1
    columns = [c for c in frame.columns if c not in id_columns]
    try:
        numbers = frame[columns].apply(pd.to_numeric, errors="raise").to_numpy(dtype=np.float32)
    except (ValueError, TypeError):
        for column in columns:
            bad = pd.to_numeric(frame[column], errors="coerce").isna() & (frame[column] != "nan")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(f"{path}, line {i + 2}, column {column!r}: {frame[column].iat[i]!r} is not "
                                 "a number") from None
        raise
    values = np.zeros((len(table), len(columns)), dtype=np.float32)
    present = np.zeros(len(table), dtype=bool)
    for row, key in enumerate(ours):
        if key in line:
            values[row], present[row] = numbers[line[key] - 2], True
    _check_finite(path, values, table, lambda row: f"line {line[ours[row]]}")
    return values, present


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _numeric(path: Path, value, *, where: str = "") -> np.ndarray:
    """``value`` as float32, refusing what the cast would change silently: complex numbers (their imaginary
    part) and magnitudes beyond float32 (they would become infinite)."""
    place = f"{path}{': ' + where if where else ''}"
    try:
        array = np.asarray(value)
        if np.iscomplexobj(array):
            raise InputError(f"{place}: complex numbers (dtype {array.dtype}); features must be real: give "
                             "the real part, the magnitude or both as columns")
        wide = array.astype(np.float64)
    except (TypeError, ValueError) as err:  # ragged lists, strings, objects
        if isinstance(err, InputError):
            raise
        raise InputError(f"{place}: not a numeric array ({' '.join(str(err).split())[:160]})") from None
    beyond = np.isfinite(wide) & (np.abs(wide) > FLOAT32_MAX)
    if beyond.any():
        index = tuple(int(i) for i in np.argwhere(beyond)[0])
        raise InputError(f"{place}: value {wide[index]:.3g} at index {index} is beyond float32's range "
                         f"(±{FLOAT32_MAX:.3g}), where features are stored; rescale the features")
    return wide.astype(np.float32)


def _check_finite(path: Path, values: np.ndarray, table: pd.DataFrame, place) -> None:
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{path}, {place(row)}: NaN or infinite value in utterance "
                         f"{table['dialogue_id'].iat[row]}/{table['utterance_id'].iat[row]} "
                         f"({int(bad.sum())} utterances affected)")
