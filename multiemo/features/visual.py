"""Utterance-level face features: MTCNN faces on a few sampled frames, embedded and averaged ("VisExtNet").

For each utterance, ``num_frames`` frames evenly spaced over its segment are decoded (not every frame),
faces are detected on them in one batched MTCNN pass, one face per frame is kept by the rule in
:mod:`multiemo.features.faces`, and the crops' embeddings from the chosen backbone are averaged over the
frames where a face was found. Crops are embedded in batches that span several utterances.

Statuses: ``ok``; ``no_face`` (no qualifying face in any sampled frame: zero row, present False);
``no_media``, ``missing_file``, ``corrupt``, ``no_video``, ``empty`` for media problems (also zero rows).
With a ``cache_dir``, each utterance's crops are stored as ``.npy`` so that embedding again with another
backbone skips decoding and detection; the file name carries a hash of the media path, segment, face side
and detection settings, and the media file's size and modification time, so changed settings or a
replaced file never reuse stale crops.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from multiemo.features.base import ModalityFeatures
from multiemo.features.face_backbones import BACKBONES, RESNET101_OUTPUTS, build_backbone
from multiemo.features.faces import DetectionConfig, FaceCropper
from multiemo.features.media import sample_frames
from multiemo.features.utterances import Utterance, load_each
from multiemo.io import write_npy
from multiemo.keys import table_keys
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

NO_FACE = "no_face"


@dataclass(frozen=True)
class VisualConfig:
    """How face features are made.

    Attributes:
        num_frames: frames sampled per utterance (evenly over its segment).
        max_side: decode frames downscaled so that neither side exceeds this (None = full size); crops
            are cut from these frames.
        detection: face detection and cropping settings.
        backbone: one of ``mtcnn_onet`` (offline default, 256-d), ``inception_resnet_v1`` (512-d),
            ``resnet101`` (2048-d or its head's size; needs ``weights``).
        weights: local weights file for the backbone (see
            :func:`~multiemo.features.face_backbones.build_backbone`).
        resnet101_output: ``penultimate`` or ``logits``.
        batch_size: crops per backbone forward pass (speed and memory only, not results).
    """

    num_frames: int = 8
    max_side: int | None = None
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    backbone: str = "mtcnn_onet"
    weights: str | None = None
    resnet101_output: str = "penultimate"
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.num_frames < 1:
            raise ValueError(f"num_frames must be >= 1, got {self.num_frames}")
        if self.max_side is not None and self.max_side < 16:
            raise ValueError(f"max_side must be >= 16 pixels (or null for full size), got {self.max_side}")
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown face backbone {self.backbone!r}; choose one of {BACKBONES}")
        if self.resnet101_output not in RESNET101_OUTPUTS:
            raise ValueError(
                f"resnet101_output must be one of {RESNET101_OUTPUTS}, got {self.resnet101_output!r}"
            )
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


class VisualExtractor:
    """Detector and backbone built once and moved once to ``device`` (None: CUDA when available)."""

    def __init__(self, config: VisualConfig, device: str | torch.device | None = None) -> None:
        self.config = config
        if device is None or str(device) == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.cropper = FaceCropper(config.detection, self.device)
        self.embedder = build_backbone(
            config.backbone, weights=config.weights, resnet101_output=config.resnet101_output
        ).to(self.device)

    @property
    def provenance(self) -> dict:
        return {
            "extractor": "mtcnn+face_backbone",
            "backbone": self.embedder.name,
            "weights": self.embedder.weights,
            "dim": self.embedder.dim,
            "resnet101_output": self.config.resnet101_output if self.config.backbone == "resnet101" else None,
            "num_frames": self.config.num_frames,
            "max_side": self.config.max_side,
            "detection": dataclasses.asdict(self.config.detection),
            "pooling": "mean over sampled frames with a face",
            "facenet_pytorch_version": version("facenet-pytorch"),
        }

    def face_crops(self, utt: Utterance, cache_dir: str | os.PathLike | None = None) -> np.ndarray:
        """(K, S, S, 3) uint8 face crops of one utterance, K <= num_frames (K = 0: no face).

        Raises:
            MediaError: the media cannot give frames (status says why).
        """
        cache = self._cache_path(utt, cache_dir) if cache_dir is not None else None
        if cache is not None and cache.is_file():
            return np.load(cache)
        frames = sample_frames(
            utt.media,
            num_frames=self.config.num_frames,
            start=utt.start,
            end=utt.end,
            max_side=self.config.max_side,
        )  # (T, H, W, 3)
        crops = self.cropper.crops(frames, utt.face_side)
        if cache is not None:
            write_npy(cache, crops)
        return crops

    def embed_mean(self, crops: list[np.ndarray]) -> np.ndarray:
        """Mean embedding per clip: list of C (K_c, S, S, 3) crop arrays (K_c >= 1) -> (C, D) float32."""
        counts = np.array([len(c) for c in crops])
        embeddings = self.embedder.embed(
            np.concatenate(crops), batch_size=self.config.batch_size
        )  # (sum K, D)
        owner = np.repeat(np.arange(len(crops)), counts)  # clip index of every crop
        sums = np.zeros((len(crops), embeddings.shape[1]), dtype=np.float64)
        np.add.at(sums, owner, embeddings)
        return (sums / counts[:, None]).astype(np.float32)

    def _cache_path(self, utt: Utterance, cache_dir: str | os.PathLike) -> Path:
        media = Path(utt.media)
        stat = media.stat() if media.is_file() else None
        recipe = {
            "media": str(media.resolve()),
            # A re-encoded or replaced file must not reuse the old crops.
            "media_stat": [stat.st_size, stat.st_mtime_ns] if stat else None,
            "start": utt.start,
            "end": utt.end,
            "face_side": utt.face_side,
            "num_frames": self.config.num_frames,
            "max_side": self.config.max_side,
            "detection": dataclasses.asdict(self.config.detection),
        }
        digest = hashlib.sha1(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
        return Path(cache_dir) / f"{re.sub(r'[^A-Za-z0-9._-]', '_', utt.key)}-{digest}.npy"


def extract_visual(
    table: pd.DataFrame,
    config: VisualConfig | None = None,
    /,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    device: str | torch.device | None = None,
    **settings: object,
) -> ModalityFeatures:
    """Face features for every utterance of ``table``, in table order.

    Args:
        table: utterance table (``dialogue_id``, ``utterance_id``, ``media``, ``start``, ``end``, and
            optionally ``face_side``: ``""``, ``"left"`` or ``"right"``).
        config: settings; fields of :class:`VisualConfig` given as keywords (``backbone="resnet101"``)
            override it.
        cache_dir: where per-utterance face crops are cached as ``.npy`` (None = no cache).
        progress: show a tqdm progress bar.
        device: where MTCNN and the backbone run ("cpu", "cuda", ...); None or "auto": CUDA when
            available. Not part of the provenance: it does not change what is computed.

    Returns:
        ModalityFeatures with values (N, D) (D from the backbone), present (N,), provenance and stage outcomes
        with the statuses listed in the module docstring; rows that are not ``ok`` are zeros.
    """
    config = dataclasses.replace(config or VisualConfig(), **settings)
    extractor = VisualExtractor(config, device)
    outcomes = StageOutcomes(stage="visual")
    values = np.zeros((len(table), extractor.embedder.dim), dtype=np.float32)  # (N, D)
    present = np.zeros(len(table), dtype=bool)  # (N,)
    pending_rows: list[int] = []
    pending_crops: list[np.ndarray] = []

    def flush() -> None:
        values[pending_rows] = extractor.embed_mean(pending_crops)
        present[pending_rows] = True
        pending_rows.clear()
        pending_crops.clear()

    def crops_of(utt: Utterance) -> np.ndarray:
        return extractor.face_crops(utt, cache_dir)

    for row, utt, crops in load_each(table, crops_of, outcomes, progress=progress):
        if len(crops) == 0:
            outcomes.add(
                utt.key, NO_FACE, f"no face found in {config.num_frames} sampled frames of {utt.media}"
            )
            continue
        outcomes.add(utt.key, OK)
        pending_rows.append(row)
        pending_crops.append(crops)
        if sum(len(c) for c in pending_crops) >= config.batch_size:
            flush()
    if pending_rows:
        flush()
    log.info("%s", outcomes.summary())
    return ModalityFeatures(
        keys=table_keys(table), values=values, present=present, provenance=extractor.provenance,
        outcomes=outcomes
    )
