"""Import the field's published feature pickles into a feature store.

Each format is a pickled tuple whose field order is fixed by the project's data loader (the facts, read from
the public loaders, are listed in the README section "The field's feature files"). One :class:`LegacyLayout`
per (format, dataset) says where each field sits; every pickle goes through the restricted unpickler of
:mod:`multiemo.data.pickles`, so nothing in a file runs.

``multiemo``: the MultiEMO release, a folder with ``Speakers.pkl`` (the tuple, for speakers, labels and
splits) and one pickle per modality (``TextFeatures.pkl``, ``AudioFeatures.pkl``, ``VisualFeatures.pkl``)
mapping a dialogue id to an (n_utterances, d) array. Every other format is one file holding everything.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.table import seeded_validation
from multiemo.data.pickles import load_pickle
from multiemo.data.store import STORE_FOLDER, FeatureStore, write_store
from multiemo.errors import InputError
from multiemo.io import check_output_dir

log = logging.getLogger(__name__)

IEMOCAP_LABELS = ("happiness", "sadness", "neutral", "anger", "excitement", "frustration")
MELD_LABELS = ("neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger")
#: COSMIC's EmoryNLP loader states {'Joyful': 0, 'Mad': 1, 'Peaceful': 2, 'Neutral': 3, 'Sad': 4, 'Powerful':
#: 5, 'Scared': 6}.
COSMIC_EMORYNLP_LABELS = ("Joyful", "Mad", "Peaceful", "Neutral", "Sad", "Powerful", "Scared")


@dataclass(frozen=True)
class LegacyLayout:
    """Where the fields sit in one format's pickled tuple, and the label names of its label indices.

    ``modalities`` maps a store modality to the tuple index of its dialogue → (n, d) mapping; a tuple of
    indices stores their mean (COSMIC's four RoBERTa layers) and each index also as ``roberta{k}``.
    ``validation`` is the index of a validation id list, or None (then MELD's dev ids or a seeded draw).
    """

    tuple_size: int
    speakers: int
    labels: int
    train_ids: int
    test_ids: int
    label_names: tuple[str, ...]
    validation: int | None = None
    sentences: int | None = None
    modalities: dict[str, int | tuple[int, ...]] = field(default_factory=dict)


_IEMOCAP_9 = LegacyLayout(9, 1, 2, 7, 8, IEMOCAP_LABELS, sentences=6,
                          modalities={"text": 3, "audio": 4, "visual": 5})
_MELD_9 = LegacyLayout(9, 1, 2, 6, 7, MELD_LABELS, sentences=5, modalities={"text": 3, "audio": 4})
_MELD_10 = LegacyLayout(10, 1, 2, 7, 8, MELD_LABELS, sentences=6,
                        modalities={"text": 3, "audio": 4, "visual": 5})
LAYOUTS: dict[str, dict[str, LegacyLayout]] = {
    # MultiEMO's Speakers.pkl equals DialogueRNN's IEMOCAP_features_raw.pkl and MMGCN's
    # MELD_features_raw1.pkl; the features come from the per-modality files.
    "multiemo": {"iemocap": LegacyLayout(9, 1, 2, 7, 8, IEMOCAP_LABELS, sentences=6),
                 "meld": LegacyLayout(10, 1, 2, 7, 8, MELD_LABELS, sentences=6)},
    "dialoguernn": {"iemocap": _IEMOCAP_9, "meld": _MELD_9},
    "dialoguegcn": {"iemocap": _IEMOCAP_9, "meld": _MELD_9},
    "mmgcn": {"iemocap": _IEMOCAP_9, "meld": _MELD_10},
    "cosmic": {
        "iemocap": LegacyLayout(10, 0, 1, 7, 8, IEMOCAP_LABELS, validation=9, sentences=6,
                                modalities={"text": (2, 3, 4, 5)}),
        "meld": LegacyLayout(11, 0, 1, 8, 9, MELD_LABELS, validation=10, sentences=7,
                             modalities={"text": (3, 4, 5, 6)}),
        "emorynlp": LegacyLayout(10, 0, 1, 7, 8, COSMIC_EMORYNLP_LABELS, validation=9, sentences=6,
                                 modalities={"text": (2, 3, 4, 5)}),
    },
}
FORMATS = tuple(LAYOUTS)
MODALITY_FILES = {"text": "TextFeatures.pkl", "audio": "AudioFeatures.pkl", "visual": "VisualFeatures.pkl"}
#: MELD's official dialogue-id offsets in these pickles: train 0-1038, dev 1039 + id, test 1153 + id.
MELD_DEV_OFFSET, MELD_TEST_OFFSET = 1039, 1153


class LegacyFormatError(InputError):
    """A published pickle does not have the expected structure."""


def import_legacy(
    dataset: str, source: str | os.PathLike, out_dir: str | os.PathLike, *, format: str = "multiemo",
    seed: int = 0, validation_fraction: float = 0.1,
) -> FeatureStore:
    """Convert a published feature pickle (``format``) of ``dataset`` into a feature store at ``out_dir``.

    Args:
        dataset: "iemocap", "meld" (or "emorynlp" for cosmic).
        source: the pickle file; for ``multiemo`` the folder holding ``Speakers.pkl`` and the feature pickles.
        format: one of :data:`FORMATS`.

    Validation split: the format's own validation ids (COSMIC); for MELD, the dev dialogues when the training
    ids include them (ids 1039-1152); otherwise a seeded ``validation_fraction`` of the training dialogues.
    The choice is recorded in the store's metadata. ``out_dir`` must be new, empty or an earlier store, and
    must not hold ``source`` (:class:`multiemo.io.OutputRefused`).
    """
    if format not in LAYOUTS:
        raise InputError(f"unknown legacy format {format!r}; choose one of {list(FORMATS)}")
    if dataset not in LAYOUTS[format]:
        raise InputError(f"format {format!r} has no {dataset!r} layout; it has {sorted(LAYOUTS[format])}")
    layout = LAYOUTS[format][dataset]
    source = Path(source)
    check_output_dir(out_dir, STORE_FOLDER, inputs=[source])
    path = source / "Speakers.pkl" if format == "multiemo" else source
    if format == "multiemo" and source.is_file():
        raise NotADirectoryError(f"{source}: the multiemo format is a folder holding Speakers.pkl and "
                                 "*Features.pkl")
    hint = ("point SOURCE at the folder holding the released pickles" if format == "multiemo"
            else f"give the {format} pickle of {dataset}")
    fields = load_pickle(path, hint=hint)
    if not isinstance(fields, (tuple, list)) or len(fields) != layout.tuple_size:
        size = f"a {len(fields)}-tuple" if isinstance(fields, (tuple, list)) else type(fields).__name__
        raise LegacyFormatError(
            f"{path}: expected a {layout.tuple_size}-tuple for {format} {dataset}, got {size}; "
            "is this the right format and dataset?"
        )
    speakers, labels = (_mapping(path, fields, i, name) for i, name in
                        ((layout.speakers, "speakers"), (layout.labels, "labels")))
    train_ids, test_ids = (_ids(path, fields, layout.train_ids, "train"),
                           _ids(path, fields, layout.test_ids, "test"))
    if layout.validation is not None:
        validation_ids = set(_ids(path, fields, layout.validation, "validation"))
        train_ids = [v for v in train_ids if v not in validation_ids] + [v for v in validation_ids
                                                                         if v not in set(train_ids)]
        how = f"the {format} file's own validation ids (tuple field {layout.validation})"
    else:
        validation_ids, how = _choose_validation(dataset, train_ids, seed, validation_fraction)
    order = train_ids + [v for v in test_ids if v not in set(train_ids)]
    # Sentences only fill the table's text column: a file without them still imports.
    sentences = fields[layout.sentences] if layout.sentences is not None else {}
    sentences = sentences if isinstance(sentences, dict) else {}
    table = _table(path, layout, order, set(test_ids), validation_ids, speakers, labels, sentences)
    lengths = {v: len(labels[v]) for v in order}

    features, provenance = {}, {}
    if format == "multiemo":
        for modality, filename in MODALITY_FILES.items():
            file = source / filename
            if not file.exists():
                log.warning("%s not found: the store will have no %s features", file, modality)
                continue
            features[modality] = _stack(file, "", load_pickle(file), order, lengths)
            provenance[modality] = {"extractor": "legacy-release", "file": filename, "dataset": dataset}
        if not features:
            raise LegacyFormatError(f"{source}: none of {sorted(MODALITY_FILES.values())} found")
    else:
        for modality, index in layout.modalities.items():
            indices = index if isinstance(index, tuple) else (index,)
            layers = [_stack(path, f"tuple field {i}", _mapping(path, fields, i, modality), order, lengths)
                      for i in indices]
            features[modality] = np.mean(layers, axis=0) if len(layers) > 1 else layers[0]
            provenance[modality] = {"extractor": f"legacy-{format}", "file": path.name,
                                    "fields": list(indices), "dataset": dataset}
            if len(layers) > 1:
                provenance[modality]["combined"] = "mean of the fields"
                for k, layer in enumerate(layers, start=1):
                    features[f"roberta{k}"] = layer
                    provenance[f"roberta{k}"] = {"extractor": f"legacy-{format}", "file": path.name,
                                                 "fields": [indices[k - 1]], "dataset": dataset}
    return write_store(
        out_dir, name=dataset, table=table, labels=list(layout.label_names), features=features,
        provenance=provenance,
        metadata={"source": f"legacy-{format}", "source_path": str(source.resolve()),
                  "validation_split": how},
    )


def _mapping(path: Path, fields, index: int, name: str) -> dict:
    value = fields[index]
    if not isinstance(value, dict):
        raise LegacyFormatError(f"{path}: tuple field {index} ({name}) is {type(value).__name__}, not a dict")
    return value


def _ids(path: Path, fields, index: int, name: str) -> list:
    value = fields[index]
    if isinstance(value, (dict, str, bytes)) or not hasattr(value, "__iter__"):
        raise LegacyFormatError(
            f"{path}: tuple field {index} ({name} ids) is {type(value).__name__}, not a list of dialogue ids"
        )
    return list(value)


def _table(path: Path, layout: LegacyLayout, order: list, test: set, validation: set, speakers: dict,
           labels: dict, sentences: dict) -> pd.DataFrame:
    rows = []
    for vid in order:
        split = "test" if vid in test else ("validation" if vid in validation else "train")
        if vid not in speakers or vid not in labels:
            raise LegacyFormatError(f"{path}: dialogue {vid!r} has no speakers or labels entry")
        if len(speakers[vid]) != len(labels[vid]):
            raise LegacyFormatError(
                f"{path}: dialogue {vid!r} has {len(speakers[vid])} speakers but {len(labels[vid])} labels"
            )
        texts = list(sentences.get(vid, []))
        parties: dict[str, int] = {}
        for position, (speaker, label) in enumerate(zip(speakers[vid], labels[vid])):
            label = int(label)
            if not 0 <= label < len(layout.label_names):
                raise LegacyFormatError(
                    f"{path}: dialogue {vid!r}, utterance {position}: label index {label} is outside "
                    f"0..{len(layout.label_names) - 1}"
                )
            name = _speaker_name(speaker)
            text = texts[position] if position < len(texts) and isinstance(texts[position], str) else ""
            rows.append({
                "dialogue_id": str(vid), "utterance_id": str(position), "position": position, "speaker": name,
                "party": parties.setdefault(name, len(parties)), "label": layout.label_names[label],
                "split": split, "text": text,
            })
    return pd.DataFrame(rows)


def _choose_validation(dataset: str, train_ids: list, seed: int, fraction: float) -> tuple[set, str]:
    if dataset == "meld":
        dev = {v for v in train_ids if _as_int(v) is not None
               and MELD_DEV_OFFSET <= _as_int(v) < MELD_TEST_OFFSET}
        if dev:
            return dev, f"MELD dev dialogues (release ids {MELD_DEV_OFFSET}-{MELD_TEST_OFFSET - 1})"
    chosen = seeded_validation(train_ids, fraction, seed)
    return chosen, f"seeded {fraction:.0%} of training dialogues (seed {seed})"


def _stack(path: Path | str, what: str, mapping, order: list, lengths: dict) -> np.ndarray:
    """(N, d) float32 rows of ``order``'s dialogues; each problem names the file, the field and the
    dialogue."""
    path = f"{path} ({what})" if what else str(path)
    if not isinstance(mapping, dict):
        raise LegacyFormatError(f"{path}: expected a dict of dialogue id to array, got "
                                f"{type(mapping).__name__}")
    blocks, dim = [], None
    for vid in order:
        if vid not in mapping:
            raise LegacyFormatError(f"{path}: dialogue {vid!r} is missing")
        try:
            block = np.asarray(mapping[vid], dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise LegacyFormatError(f"{path}: dialogue {vid!r} is not a numeric array: {err}") from None
        if block.ndim != 2 or block.shape[0] != lengths[vid]:
            raise LegacyFormatError(
                f"{path}: dialogue {vid!r} has features of shape {block.shape}, expected ({lengths[vid]}, d)"
            )
        if dim is not None and block.shape[1] != dim:
            raise LegacyFormatError(f"{path}: dialogue {vid!r} has width {block.shape[1]}, others {dim}")
        bad = ~np.isfinite(block).all(axis=1)
        if bad.any():
            raise LegacyFormatError(
                f"{path}: dialogue {vid!r}, utterance {int(np.flatnonzero(bad)[0])} has NaN or "
                "infinite values"
            )
        dim = block.shape[1]
        blocks.append(block)
    return np.concatenate(blocks)


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
