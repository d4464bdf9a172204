"""Stage functions of the workflow: corpus → per-shard features → feature store.

Each function reads its inputs from files and writes its outputs atomically, so the Snakemake scripts
are thin adapters and every stage is usable (and tested) without Snakemake.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora import Corpus
from multiemo.corpora.registry import dataset_modalities
from multiemo.corpora.registry import reader as corpus_reader
from multiemo.data.store import TABLE_COLUMNS, FeatureStore, write_store
from multiemo.errors import InputError
from multiemo.features.base import ModalityFeatures
from multiemo.features.registry import ExtractionContext, extractor

log = logging.getLogger(__name__)


def read_corpus(entry: Mapping, out_dir: str | os.PathLike) -> Corpus:
    """Read the corpus a config ``datasets`` entry describes (:func:`load_corpus`) and save it to
    ``out_dir``."""
    corpus = load_corpus(entry)
    corpus.save(out_dir)
    log.info("%s", corpus.outcomes.summary())
    return corpus


def load_corpus(entry: Mapping) -> Corpus:
    """Read the corpus a config ``datasets`` entry describes (its ``reader`` in
    :mod:`multiemo.corpora.registry`).

    Media are required only when a modality whose extractor reads media (audio, visual) is requested, so an
    annotations-only MELD or IEMOCAP corpus (``modalities: [text]``) serves text-only training.
    ``require_media: true`` in the entry demands the clips anyway; ``require_media: false`` together with
    such a modality is refused, since those features would have nothing to be extracted from.
    """
    read = corpus_reader(entry.get("reader"))
    modalities = dataset_modalities(entry)
    media = [m for m in modalities if extractor(m).reads == "media"]
    require_media = entry.get("require_media")
    if require_media is None:
        require_media = bool(media)
    elif media and not require_media:
        raise InputError(
            f"the dataset entry asks for {media} features but sets require_media: false; these features are "
            "extracted from the clips, so either provide them (remove require_media) or train on the "
            "other modalities alone (e.g. modalities: [text])"
        )
    return read(entry, require_media=bool(require_media))


def content_digest(corpus: Corpus, columns: Sequence[str] | None = None, *, shard: int | None = None,
                   num_shards: int = 1) -> str:
    """SHA-256 of what a stage reads of ``corpus``: the rows (of one shard) in table order and ``columns``
    of them; ``columns=None``: the whole corpus as :meth:`Corpus.save` writes it (table, labels, outcomes).

    Equal digests mean the stage would read the same values, whatever the files' time stamps say; the
    workflow reruns a stage when its digest changes (rules/common.smk).
    """
    table = corpus.table if shard is None else shard_table(corpus.table, shard, num_shards)
    digest = hashlib.sha256()
    if columns is None:
        meta = {"labels": corpus.labels, "report": corpus.outcomes.to_dict()}
        digest.update(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode())
    else:
        table = table[[c for c in columns if c in table.columns]]
    digest.update(table.to_csv(index=False).encode())
    return digest.hexdigest()


def shard_media(corpus: Corpus, shard: int | None, num_shards: int = 1) -> list[str]:
    """The media files of one shard's dialogues (``None``: of all) that exist, each once, in table order
    (its jobs' inputs; a missing clip is no input but a counted ``missing_file``, so adding it later changes
    the inputs)."""
    table = corpus.table if shard is None else shard_table(corpus.table, shard, num_shards)
    paths = table["media"]
    return [p for p in dict.fromkeys(paths) if p and os.path.isfile(p)]


def shard_table(table: pd.DataFrame, shard: int, num_shards: int) -> pd.DataFrame:
    """Utterances of the dialogues in ``shard``: the i-th dialogue (order of appearance) goes to i mod n."""
    if not 0 <= shard < num_shards:
        raise ValueError(f"shard {shard} is outside 0..{num_shards - 1}")
    codes, _ = pd.factorize(table["dialogue_id"], sort=False)
    return table[codes % num_shards == shard]


def extract_features(
    modality: str,
    corpus: Corpus | str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    settings: Mapping,
    shard: int | None = None,
    num_shards: int = 1,
    cache_dir: str | os.PathLike | None = None,
    inputs: Mapping[str, str | os.PathLike] | None = None,
    progress: bool = True,
) -> ModalityFeatures:
    """Features of one modality (:mod:`multiemo.features.registry`) of a saved corpus, written as ``.npz``.

    Args:
        modality: a registered modality.
        corpus: the corpus, or a folder written by :meth:`Corpus.save`.
        settings: its ``extraction.<modality>`` block.
        shard, num_shards: extract only the dialogues of this shard (:func:`shard_table`); a modality that
            is not sharded (text: context needs whole dialogues) takes the whole corpus (``shard=None``).
        cache_dir, inputs: see :class:`~multiemo.features.registry.ExtractionContext`.
    """
    spec = extractor(modality)
    table = (corpus if isinstance(corpus, Corpus) else Corpus.load(corpus)).table
    if shard is not None:
        if not spec.sharded:
            raise InputError(f"{modality} features are made over the whole corpus, not per shard")
        table = shard_table(table, shard, num_shards)
    context = ExtractionContext(cache_dir=Path(cache_dir) if cache_dir is not None else None,
                                inputs={k: Path(v) for k, v in (inputs or {}).items() if v is not None})
    features = spec.make(settings, context)(table, progress=progress)
    features.save(out_path)
    return features


def extract_shard(
    modality: str,
    corpus_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    shard: int,
    num_shards: int,
    settings: Mapping,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> ModalityFeatures:
    """Features of one shard of dialogues of a sharded modality (audio, visual), as one ``.npz`` shard."""
    return extract_features(modality, corpus_dir, out_path, settings=settings, shard=shard,
                            num_shards=num_shards, cache_dir=cache_dir, progress=progress)


def extract_text_features(
    corpus_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    settings: Mapping,
    encoder_path: str | os.PathLike | None = None,
    progress: bool = True,
) -> ModalityFeatures:
    """Text features of a whole saved corpus (context needs whole dialogues), from ``settings["model"]``
    or from a fine-tuned encoder directory."""
    return extract_features("text", corpus_dir, out_path, settings=settings,
                            inputs={"encoder": encoder_path} if encoder_path else None, progress=progress)


def finetune_text(corpus_dir: str | os.PathLike, out_dir: str | os.PathLike, *, settings: Mapping,
                  progress: bool = True):
    """Fine-tune the text encoder on the corpus's training split (early stopping on validation)."""
    from multiemo.features.text_finetune import finetune_text_encoder

    corpus = Corpus.load(corpus_dir)
    tune = dict(settings.get("finetune", {}))
    tune.pop("enabled", None)
    return finetune_text_encoder(
        corpus.table, settings["model"], labels=corpus.labels, out_dir=out_dir,
        past=settings.get("past"), future=settings.get("future"),
        speaker_names=bool(settings.get("speaker_names", True)), max_length=settings.get("max_length"),
        pooling=settings.get("pooling") or "cls", show_progress=progress, **tune,
    )


def assemble_store(
    name: str,
    corpus_dir: str | os.PathLike,
    feature_files: Mapping[str, Sequence[str | os.PathLike]],
    out_dir: str | os.PathLike,
    *,
    outcomes_dir: str | os.PathLike | None = None,
) -> FeatureStore:
    """Join the feature shards of every modality, in corpus order, into a feature store.

    Every utterance of the corpus must be covered by each modality's shards exactly once. The outcomes
    of every stage (the corpus and each modality) are written to ``outcomes_dir`` as ``{stage}.json``.
    """
    corpus = Corpus.load(corpus_dir)
    keys = corpus.keys()
    row_of = {key: i for i, key in enumerate(keys)}
    features, present, provenance, outcomes = {}, {}, {}, [corpus.outcomes]
    for modality, files in feature_files.items():
        joined = ModalityFeatures.concatenate([ModalityFeatures.load(f) for f in files])
        if sorted(joined.keys) != sorted(keys):
            missing = sorted(set(keys) - set(joined.keys))[:5]
            raise InputError(
                f"{modality} shards do not cover the corpus exactly (e.g. missing {missing}); "
                "rerun the extraction with the same number of shards"
            )
        order = np.array([row_of[k] for k in joined.keys])
        values = np.zeros_like(joined.values)
        values[order] = joined.values
        mask = np.zeros(len(keys), dtype=bool)
        mask[order] = joined.present
        features[modality], present[modality], provenance[modality] = values, mask, joined.provenance
        if joined.outcomes is not None:
            outcomes.append(joined.outcomes)
    table = corpus.table[[c for c in TABLE_COLUMNS if c in corpus.table.columns] + ["media"]]
    if outcomes_dir is not None:
        for stage in outcomes:
            stage.write(Path(outcomes_dir) / f"{stage.stage}.json")
    counts = {s.stage: s.counts() for s in outcomes}
    for stage in outcomes:
        log.info("%s", stage.summary())
    return write_store(
        out_dir, name=name, table=table, labels=list(corpus.labels), features=features,
        provenance=provenance, present=present, metadata={"extraction": counts},
    )

