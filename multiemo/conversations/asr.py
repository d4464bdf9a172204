"""Speech recognition for recordings without a transcript: a Whisper model fills each utterance's text.

transformers' ``automatic-speech-recognition`` pipeline runs a Whisper model given by hub name or local
folder (``asr.model``; no download happens with ``HF_HUB_OFFLINE=1``, so offline it must be a local folder
or already cached). Each utterance's audio is cut from the streamed track (never the whole recording) and
transcribed on its own; the utterance keeps the times voice activity and diarization gave it
(``timestamps: segment``), and ``timestamps: word`` also asks Whisper for word times (in recording seconds,
recorded in the output JSON under ``asr.words``; the model needs alignment heads for that).

Without ``asr.model`` nothing happens (text stays missing, ``no_transcript``); a model that cannot be
loaded is the counted fallback ``asr_unavailable``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np

from multiemo.conversations.diarization import cut_windows

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000  # Whisper's rate
TIMESTAMPS = ("segment", "word")


class AsrUnavailable(RuntimeError):
    """The speech-recognition model cannot be loaded here."""


@dataclass(frozen=True)
class AsrConfig:
    """Speech recognition of recordings without transcript.

    Attributes:
        model: Whisper model, hub name or local folder; None = no speech recognition.
        timestamps: ``segment`` (each utterance's own times) or ``word`` (Whisper's word times too).
        language: spoken language for Whisper (e.g. ``en``); None = detected by the model.
        batch_size: utterances transcribed at once.
        max_new_tokens: longest transcription of one utterance, in tokens.
    """

    model: str | None = None
    timestamps: str = "segment"
    language: str | None = None
    batch_size: int = 8
    max_new_tokens: int = 128

    def __post_init__(self) -> None:
        if self.timestamps not in TIMESTAMPS:
            raise ValueError(f"asr timestamps must be one of {TIMESTAMPS}, got {self.timestamps!r}")
        if self.batch_size < 1 or self.max_new_tokens < 1:
            raise ValueError("asr batch_size and max_new_tokens must be >= 1")


def load_asr(config: AsrConfig, device: str = "cpu"):
    """transformers' speech-recognition pipeline for ``config.model``.

    Raises:
        AsrUnavailable: transformers is missing or the model cannot be loaded (not cached offline, bad
            folder).
    """
    try:
        from transformers import pipeline
    except ImportError as error:
        raise AsrUnavailable(f"speech recognition needs transformers ({error})") from None
    try:
        return pipeline("automatic-speech-recognition", model=config.model, device=device)
    except Exception as error:  # noqa: BLE001 - hub, network and file errors all mean "not available here"
        raise AsrUnavailable(f"ASR model {config.model!r} cannot be loaded ({type(error).__name__}: "
                             f"{str(error).splitlines()[0][:200]}); give a local Whisper folder") from None


def transcribe(path: str | os.PathLike, spans: np.ndarray, config: AsrConfig, *, recogniser=None,
               device: str = "cpu", progress: bool = False) -> tuple[list[str], list[list[dict]]]:
    """Text of each (start, end) span of ``path``'s audio, and its word times when asked.

    Returns:
        (K texts, K lists of ``{"word", "start", "end"}`` in recording seconds; empty for ``segment``).

    Raises:
        AsrUnavailable: the model cannot be loaded.
    """
    recogniser = recogniser or load_asr(config, device)
    texts, words = [""] * len(spans), [[] for _ in spans]
    kwargs: dict = {"generate_kwargs": {"max_new_tokens": config.max_new_tokens}}
    if config.language:
        kwargs["generate_kwargs"]["language"] = config.language
    if config.timestamps == "word":
        kwargs["return_timestamps"] = "word"
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        outputs = recogniser([{"raw": samples, "sampling_rate": SAMPLE_RATE} for _, samples in batch],
                             batch_size=len(batch), **kwargs)
        for (index, _), output in zip(batch, outputs):
            texts[index] = output["text"].strip()
            offset = float(spans[index][0])
            words[index] = [{"word": c["text"].strip(), "start": offset + c["timestamp"][0],
                             "end": offset + (c["timestamp"][1] or c["timestamp"][0])}
                            for c in output.get("chunks", [])]
        batch.clear()

    for index, samples in cut_windows(path, np.asarray(spans, dtype=float).reshape(-1, 2), SAMPLE_RATE,
                                      progress=progress):
        batch.append((index, np.ascontiguousarray(samples, dtype=np.float32)))
        if len(batch) == config.batch_size:
            flush()
    if batch:
        flush()
    return texts, words
