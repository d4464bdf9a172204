"""Import the feature pickles released with the original MultiEMO code into a feature store.

The release has, per dataset, ``Speakers.pkl`` (pickled under Python 2) and one pickle per modality
(``TextFeatures.pkl``, ``AudioFeatures.pkl``, ``VisualFeatures.pkl``) mapping a dialogue id to an
(n_utterances, d) array. Only the facts of that format are used here.
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.data.store import FeatureStore, write_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LegacyLayout:
    """Where the fields sit in one dataset's ``Speakers.pkl`` tuple, and its label names."""

    tuple_size: int
    speakers: int
    labels: int
    train_ids: int
    test_ids: int
    label_names: tuple[str, ...]


LAYOUTS = {
    "meld": LegacyLayout(10, 1, 2, 7, 8, ("neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger")),
    "iemocap": LegacyLayout(
        9, 1, 2, 7, 8, ("happiness", "sadness", "neutral", "anger", "excitement", "frustration")
    ),
}
MODALITY_FILES = {"text": "TextFeatures.pkl", "audio": "AudioFeatures.pkl", "visual": "VisualFeatures.pkl"}
#: MELD's official dialogue-id offsets in the release: train 0-1038, dev 1039 + id, test 1153 + id.
MELD_DEV_OFFSET, MELD_TEST_OFFSET = 1039, 1153


class LegacyFormatError(ValueError):
    """A released pickle does not have the expected structure."""


def import_legacy(
    dataset: str, src_dir: str | os.PathLike, out_dir: str | os.PathLike, *, seed: int = 0,
    validation_fraction: float = 0.1,
) -> FeatureStore:
    """Convert the released pickles of ``dataset`` ("meld" or "iemocap") in ``src_dir`` into a store.

    Validation split: for MELD, the dev dialogues when the training ids include them (ids from 1039 on);
    otherwise a seeded ``validation_fraction`` of the training dialogues. The choice is recorded in the
    store's metadata.
    """
    if dataset not in LAYOUTS:
        raise ValueError(f"unknown legacy dataset {dataset!r}; choose one of {sorted(LAYOUTS)}")
    layout = LAYOUTS[dataset]
    src = Path(src_dir)
    speakers_path = src / "Speakers.pkl"
    fields = _load_pickle(speakers_path)
    if not isinstance(fields, (tuple, list)) or len(fields) != layout.tuple_size:
        size = len(fields) if isinstance(fields, (tuple, list)) else type(fields).__name__
        raise LegacyFormatError(
            f"{speakers_path}: expected a {layout.tuple_size}-tuple for {dataset}, got {size}; "
            "is this the right dataset?"
        )
    speakers, labels = fields[layout.speakers], fields[layout.labels]
    train_ids, test_ids = list(fields[layout.train_ids]), list(fields[layout.test_ids])
    for name, mapping in (("speakers", speakers), ("labels", labels)):
        if not isinstance(mapping, dict):
            raise LegacyFormatError(f"{speakers_path}: the {name} field is {type(mapping).__name__}, not a dict")

    validation_ids, how = _choose_validation(dataset, train_ids, seed, validation_fraction)
    rows = []
    test_set = set(test_ids)
    for vid in train_ids + test_ids:
        split = "test" if vid in test_set else ("validation" if vid in validation_ids else "train")
        if vid not in speakers or vid not in labels:
            raise LegacyFormatError(f"{speakers_path}: dialogue {vid!r} has no speakers or labels entry")
        if len(speakers[vid]) != len(labels[vid]):
            raise LegacyFormatError(
                f"{speakers_path}: dialogue {vid!r} has {len(speakers[vid])} speakers but {len(labels[vid])} labels"
            )
        names = [_speaker_name(s) for s in speakers[vid]]
        parties: dict[str, int] = {}
        for position, (speaker, label) in enumerate(zip(names, labels[vid])):
            label = int(label)
            if not 0 <= label < len(layout.label_names):
                raise LegacyFormatError(f"{speakers_path}: dialogue {vid!r} has label index {label} out of range")
            rows.append({
                "dialogue_id": str(vid),
                "utterance_id": str(position),
                "position": position,
                "speaker": speaker,
                "party": parties.setdefault(speaker, len(parties)),
                "label": layout.label_names[label],
                "split": split,
                "text": "",
            })
    table = pd.DataFrame(rows)
    order = train_ids + test_ids
    features, provenance = {}, {}
    for modality, filename in MODALITY_FILES.items():
        path = src / filename
        if not path.exists():
            log.warning("%s not found: the store will have no %s features", path, modality)
            continue
        features[modality] = _stack(path, _load_pickle(path), order, {v: len(labels[v]) for v in order})
        provenance[modality] = {"extractor": "legacy-release", "file": filename, "dataset": dataset}
    if not features:
        raise LegacyFormatError(f"{src}: none of {sorted(MODALITY_FILES.values())} found")
    return write_store(
        out_dir, name=dataset, table=table, labels=list(layout.label_names), features=features,
        provenance=provenance,
        metadata={"source": "legacy-release", "source_dir": str(src.resolve()), "validation_split": how},
    )


def _choose_validation(dataset: str, train_ids: list, seed: int, fraction: float) -> tuple[set, str]:
    if dataset == "meld":
        dev = {v for v in train_ids if _as_int(v) is not None and MELD_DEV_OFFSET <= _as_int(v) < MELD_TEST_OFFSET}
        if dev:
            return dev, f"MELD dev dialogues (release ids {MELD_DEV_OFFSET}-{MELD_TEST_OFFSET - 1})"
    rng = np.random.default_rng(seed)
    count = max(1, round(fraction * len(train_ids)))
    chosen = rng.choice(len(train_ids), size=count, replace=False)
    return {train_ids[i] for i in chosen}, f"seeded {fraction:.0%} of training dialogues (seed {seed})"


def _stack(path: Path, mapping, order: list, lengths: dict) -> np.ndarray:
    if not isinstance(mapping, dict):
        raise LegacyFormatError(f"{path}: expected a dict of dialogue id to array, got {type(mapping).__name__}")
    blocks, dim = [], None
    for vid in order:
        if vid not in mapping:
            raise LegacyFormatError(f"{path}: dialogue {vid!r} is missing")
        block = np.asarray(mapping[vid], dtype=np.float32)
        if block.ndim != 2 or block.shape[0] != lengths[vid]:
            raise LegacyFormatError(
                f"{path}: dialogue {vid!r} has features of shape {block.shape}, expected ({lengths[vid]}, d)"
            )
        if dim is not None and block.shape[1] != dim:
            raise LegacyFormatError(f"{path}: dialogue {vid!r} has width {block.shape[1]}, others {dim}")
        dim = block.shape[1]
        blocks.append(block)
    return np.concatenate(blocks)


def _load_pickle(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; point SRC_DIR at the folder holding the released pickles")
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle, encoding="latin1")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as err:
        raise LegacyFormatError(f"{path} is not a readable pickle: {err}") from None


def _speaker_name(speaker) -> str:
    """'M'/'F' stay as they are; a one-hot party vector becomes 'party{k}'."""
    if isinstance(speaker, str):
        return speaker
    vector = np.asarray(speaker)
    if vector.ndim == 1 and vector.size > 1:
        return f"party{int(vector.argmax())}"
    return str(speaker)


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
