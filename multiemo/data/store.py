"""The feature store: one directory per dataset holding the utterance table and one array per modality.

Layout::

    STORE/
      store.json        format version, dataset name, label names (index order), modalities with their
                        dimension, file and provenance, and free-form metadata (e.g. how splits were chosen)
      utterances.csv    one row per utterance, sorted by dialogue then position (see ``TABLE_COLUMNS``)
      <modality>.npy    (N, D) float32, row i belongs to utterance row i
      <modality>.present.npy  (N,) bool, False where the modality is missing for that utterance

A store is written into a temporary directory and renamed into place, so an interrupted write never
leaves a directory that looks like a finished store.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.errors import InputError
from multiemo.io import OutputKind, atomic_path, read_json

FORMAT_NAME = "multiemo-feature-store"
FORMAT_VERSION = 1
SPLITS = ("train", "validation", "test")
#: What a store folder holds: only such a folder is replaced by :func:`write_store`.
STORE_FOLDER = OutputKind("feature store", "store.json", ("store.json", "utterances.csv", "*.npy"))

#: Columns every utterance table has. ``label`` is "" for unlabelled utterances.
TABLE_COLUMNS = ("dialogue_id", "utterance_id", "position", "speaker", "party", "label", "split", "text")


class StoreError(InputError):
    """A feature store is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class ModalityInfo:
    """What one modality's array is: its width and how it was made."""

    name: str
    dim: int
    provenance: dict


class FeatureStore:
    """Read access to a feature store directory (see the module docstring for the layout).

    Arrays are memory-mapped; :meth:`features` loads nothing until it is indexed.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        meta_path = self.root / "store.json"
        if not meta_path.is_file():
            raise StoreError(
                f"{self.root} is not a feature store (no store.json); build one with the workflow's "
                "'features_*' targets or 'multiemo import-legacy'"
            )
        meta = read_json(meta_path, error=StoreError,
                         hint="rebuild the store (or restore it from its origin)")
        if (not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME
                or meta.get("version") != FORMAT_VERSION):
            raise StoreError(
                f"{meta_path}: unsupported store format "
                + (f"{meta.get('format')!r} version {meta.get('version')!r}" if isinstance(meta, dict) else
                   f"(a JSON {type(meta).__name__}, not a store's record)")
            )
        self.name: str = meta["name"]
        self.labels: list[str] = list(meta["labels"])
        self.metadata: dict = meta.get("metadata", {})
        #: Hash of the table and arrays: runs record it, so features made again never pass for the old ones.
        self.fingerprint: str = meta.get("fingerprint", "")
        self.modalities: dict[str, ModalityInfo] = {
            name: ModalityInfo(name=name, dim=int(info["dim"]), provenance=info.get("provenance", {}))
            for name, info in meta["modalities"].items()
        }
        self.table = pd.read_csv(
            self.root / "utterances.csv",
            dtype={"dialogue_id": str, "utterance_id": str, "speaker": str, "label": str, "split": str},
            keep_default_na=False,
            encoding="utf-8",
        )
        _check_table(self.table, self.labels, source=str(self.root / "utterances.csv"))

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        dims = ", ".join(f"{m.name}={m.dim}" for m in self.modalities.values())
        return f"FeatureStore({self.root}, {len(self)} utterances, {dims})"

    def features(self, modality: str) -> np.ndarray:
        """(N, D) float32 array of one modality, memory-mapped."""
        self._check_modality(modality)
        return self._array(f"{modality}.npy", (len(self), self.modalities[modality].dim), mmap_mode="r")

    def present(self, modality: str) -> np.ndarray:
        """(N,) bool, False where ``modality`` is missing for an utterance."""
        self._check_modality(modality)
        return self._array(f"{modality}.present.npy", (len(self),))

    def _array(self, name: str, shape: tuple[int, ...], mmap_mode: str | None = None) -> np.ndarray:
        """One array file of the store, checked to hold ``shape`` (a truncated or swapped file names
        itself)."""
        path = self.root / name
        try:
            array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        except (ValueError, EOFError) as err:  # a header or body cut short, a pickled object array
            raise StoreError(f"{path} is not a readable array ({' '.join(str(err).split())[:200]}); it may "
                             "be truncated: rebuild the store") from None
        if array.shape != shape:
            raise StoreError(f"{path} holds an array of shape {array.shape}, but store.json and "
                             f"utterances.csv describe {shape}: the store was altered; rebuild it")
        return array

    def label_ids(self) -> np.ndarray:
        """(N,) int64 label index per utterance, -1 where unlabelled."""
        index = {label: i for i, label in enumerate(self.labels)}
        return np.array([index.get(label, -1) for label in self.table["label"]], dtype=np.int64)

    def class_counts(self, split: str = "train") -> np.ndarray:
        """(C,) number of labelled utterances per class in ``split``."""
        ids = self.label_ids()[self.table["split"].to_numpy() == split]
        return np.bincount(ids[ids >= 0], minlength=len(self.labels))

    def _check_modality(self, modality: str) -> None:
        if modality not in self.modalities:
            raise StoreError(
                f"{self.root} has no {modality!r} features; it holds {sorted(self.modalities)}"
            )


def write_store(
    path: str | os.PathLike,
    *,
    name: str,
    table: pd.DataFrame,
    labels: list[str],
    features: Mapping[str, np.ndarray],
    provenance: Mapping[str, dict] | None = None,
    present: Mapping[str, np.ndarray] | None = None,
    metadata: dict | None = None,
) -> FeatureStore:
    """Write a feature store atomically and return it opened.

    Args:
        path: the store directory to create (replacing an earlier store; any other non-empty folder is
            refused, :class:`multiemo.io.OutputRefused`).
        name: dataset name recorded in the store.
        table: utterance table with at least ``TABLE_COLUMNS``; extra columns are kept.
        labels: label names in index order; every non-empty ``table.label`` must be one of them.
        features: modality name → (N, D) array, rows aligned with ``table``.
        provenance: modality name → how the features were made (extractor, settings, versions).
        present: modality name → (N,) bool; defaults to all True.
        metadata: free-form facts about the store (e.g. how the validation split was chosen).

    Raises:
        StoreError: naming the row and dialogue: a missing column, unknown label or split, a repeated
            utterance, a position given twice or missing (each dialogue's rows hold 0..n-1 in order), a
            speaker with two parties or a party with two speakers inside a dialogue, a dialogue in two splits,
            a feature array of the wrong shape, or a NaN/infinite feature (naming the utterance). Nothing is
            written then.
    """
    table = table.reset_index(drop=True)
    _check_table(table, labels, source=f"table for store {path}")
    provenance = dict(provenance or {})
    present = dict(present or {})
    n = len(table)
    modalities = {}
    for modality, values in features.items():
        if not modality.isidentifier():
            raise StoreError(f"modality name {modality!r} must be a plain identifier")
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or values.shape[0] != n:
            raise StoreError(f"{modality} features have shape {values.shape}, expected ({n}, D)")
        finite = np.isfinite(values).all(axis=1)
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise StoreError(
                f"store {path}: {modality} features of utterance {table['dialogue_id'].iat[row]}/"
                f"{table['utterance_id'].iat[row]} (row {row}) contain NaN or infinite values "
                f"({int((~finite).sum())} rows affected)"
            )
        mask = np.asarray(present.get(modality, np.ones(n, dtype=bool)), dtype=bool)
        if mask.shape != (n,):
            raise StoreError(f"{modality} presence mask has shape {mask.shape}, expected ({n},)")
        modalities[modality] = (values, mask)
    with atomic_path(path, STORE_FOLDER) as tmp:
        tmp.mkdir()
        table.to_csv(tmp / "utterances.csv", index=False, encoding="utf-8")
        for modality, (values, mask) in modalities.items():
            np.save(tmp / f"{modality}.npy", values)
            np.save(tmp / f"{modality}.present.npy", mask)
        digest = hashlib.sha256((tmp / "utterances.csv").read_bytes())
        for modality, (values, mask) in modalities.items():
            digest.update(modality.encode())
            digest.update(np.ascontiguousarray(values).data)
            digest.update(mask.tobytes())
        meta = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "fingerprint": digest.hexdigest(),
            "name": name,
            "labels": list(labels),
            "modalities": {
                m: {"dim": int(v.shape[1]), "file": f"{m}.npy", "provenance": provenance.get(m, {})}
                for m, (v, _) in modalities.items()
            },
            "metadata": metadata or {},
        }
        (tmp / "store.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    return FeatureStore(path)


def _check_table(table: pd.DataFrame, labels: list[str], *, source: str) -> None:
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise StoreError(f"{source}: missing columns {missing}")
    bad_splits = sorted(set(table["split"]) - set(SPLITS))
    if bad_splits:
        raise StoreError(f"{source}: unknown split values {bad_splits}; allowed: {list(SPLITS)}")
    unknown = sorted(set(table["label"]) - set(labels) - {""})
    if unknown:
        raise StoreError(f"{source}: labels {unknown} are not among the store's labels {labels}")
    if table.duplicated(["dialogue_id", "utterance_id"]).any():
        dup = table[table.duplicated(["dialogue_id", "utterance_id"], keep=False)].iloc[0]
        raise StoreError(f"{source}: duplicate utterance {dup['dialogue_id']}/{dup['utterance_id']}")
    if (table["party"] < 0).any():
        raise StoreError(f"{source}: negative party index")
    if len(table) and table.groupby("dialogue_id")["split"].nunique().max() > 1:
        raise StoreError(f"{source}: a dialogue spans several splits")
    _check_positions(table, source)
    _check_parties(table, source)


def _check_positions(table: pd.DataFrame, source: str) -> None:
    """Each dialogue's rows are contiguous and hold positions 0..n-1 in row order, none twice, none
    missing."""

    def where(row: int) -> str:
        return f"{source}, row {row} (dialogue {table['dialogue_id'].iat[row]!r})"
    duplicated = table.duplicated(["dialogue_id", "position"])
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise StoreError(f"{where(row)}: position {table['position'].iat[row]} appears twice in the dialogue")
    codes = pd.factorize(table["dialogue_id"], sort=False)[0]
    if len(codes) and (np.diff(codes) < 0).any():
        row = int(np.flatnonzero(np.diff(codes) < 0)[0]) + 1
        raise StoreError(f"{where(row)}: the dialogue's rows are not contiguous; sort by dialogue then "
                         "position")
    expected = table.groupby("dialogue_id", sort=False).cumcount().to_numpy()
    position = table["position"].to_numpy()
    if not np.array_equal(position, expected):
        row = int(np.flatnonzero(position != expected)[0])
        missing = expected[row] not in set(position[codes == codes[row]])
        what = f"position {expected[row]} is missing" if missing else "rows are not in position order"
        raise StoreError(f"{where(row)}: {what} (this row has position {position[row]}); positions run "
                         "0..n-1")


def _check_parties(table: pd.DataFrame, source: str) -> None:
    """Inside a dialogue a speaker is one party and a party is one speaker."""
    triples = table[["dialogue_id", "speaker", "party"]].drop_duplicates()
    for key, other in (("speaker", "party"), ("party", "speaker")):
        clash = triples.duplicated(["dialogue_id", key])
        if clash.any():
            row = int(triples.index[clash.to_numpy()][0])
            dialogue, value = table["dialogue_id"].iat[row], table[key].iat[row]
            seen = triples[(triples["dialogue_id"] == dialogue) & (triples[key] == value)][other].tolist()
            raise StoreError(
                f"{source}, row {row} (dialogue {dialogue!r}): {key} {_show(value)} is {other} "
                f"{_show(seen[0])} earlier and {other} {_show(table[other].iat[row])} here; inside a "
                "dialogue one speaker is one party"
            )


def _show(value) -> str:
    """A speaker quoted, a party as a plain number."""
    return repr(value) if isinstance(value, str) else str(int(value))
