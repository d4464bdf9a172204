"""Utterance segments of a recording without a transcript: voice activity, streamed.

Rule (``method="vad"``): the audio is decoded chunk by chunk (never whole) to mono at ``sample_rate`` and
scored frame by frame by the detector ``vad`` (:mod:`multiemo.conversations.vad`):

* ``silero`` (default): silero-vad's speech probability per 32 ms frame (16 kHz), with hysteresis as in
  silero's own ``get_speech_timestamps``: speech starts at a frame whose probability is at least
  ``silero_threshold`` and lasts until one falls below ``silero_off_threshold`` (None: 0.15 lower).
* ``energy``: ``frame``-second frames; voiced when the RMS level (dBFS) is at least
  ``max(floor_dbfs, noise + threshold_db)``, where ``noise`` is the 10th percentile of all frame levels (the
  recording's background; all-zero frames count as -120 dBFS).

Voiced runs are widened by ``speech_pad`` s on each side; runs then separated by less than ``min_silence`` s
are joined, runs shorter than ``min_speech`` s are dropped, and runs longer than ``max_utterance`` s are split
into equal pieces no longer than that. Each
segment is one utterance (its speaker comes from diarization, :mod:`multiemo.conversations.diarization`).

Fallbacks, recorded in :attr:`Segmentation.method` and ``reason`` and counted per utterance by the caller:
silero-vad not installed -> the energy detector (``vad_fallback``); a recording without an audio stream,
or one where no frame is voiced, is cut into fixed ``window``-second segments (``method="fixed"``) so that
faces are still classified; a remainder shorter than ``min_speech`` at the end joins the last window.
``method="fixed"`` asks for fixed windows directly.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from multiemo.conversations.vad import VadUnavailable, audio_origin, energy_levels, silero_probabilities
from multiemo.errors import InputError

log = logging.getLogger(__name__)

METHODS = ("vad", "fixed")
DETECTORS = ("silero", "energy")
_SILENCE_DBFS = -120.0  # level given to all-zero frames when estimating the background


@dataclass(frozen=True)
class SegmentationConfig:
    """How a video without transcript is cut into utterances (see the module docstring for the rule).

    Attributes:
        method: ``vad`` (voice activity) or ``fixed`` (equal windows).
        vad: the voice-activity detector, ``silero`` or ``energy``.
        silero_threshold: speech starts at a frame whose silero speech probability is at least this.
        silero_off_threshold: speech ends at a frame whose probability is below this (None: 0.15 below
            ``silero_threshold``, silero's own rule; above ``silero_threshold`` it acts as that).
        sample_rate: rate (Hz) the audio is decoded at for voice activity (16000 or 8000 for silero).
        frame: energy frame length in seconds.
        threshold_db: a voiced frame is this many dB above the background level.
        floor_dbfs: frames below this level are never voiced.
        speech_pad: seconds added to each side of a voiced run (speech onsets and ends are quiet).
        min_speech: shortest utterance kept, in seconds.
        min_silence: shorter pauses do not end an utterance, in seconds.
        max_utterance: longer voiced runs are split into equal pieces, in seconds.
        window: segment length of ``fixed`` windows, in seconds.
    """

    method: str = "vad"
    vad: str = "silero"
    silero_threshold: float = 0.3
    silero_off_threshold: float | None = None
    sample_rate: int = 16000
    frame: float = 0.03
    threshold_db: float = 15.0
    floor_dbfs: float = -50.0
    speech_pad: float = 0.1
    min_speech: float = 0.3
    min_silence: float = 1.0
    max_utterance: float = 10.0
    window: float = 5.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"segmentation method must be one of {METHODS}, got {self.method!r}")
        if self.vad not in DETECTORS:
            raise ValueError(f"segmentation vad must be one of {DETECTORS}, got {self.vad!r}")
        if self.sample_rate < 8000:
            raise ValueError(f"segmentation sample_rate must be >= 8000 Hz, got {self.sample_rate}")
        if not 0 < self.silero_threshold < 1:
            raise ValueError(f"segmentation silero_threshold must be in (0, 1), got {self.silero_threshold}")
        if self.silero_off_threshold is not None and not 0 < self.silero_off_threshold < 1:
            raise ValueError("segmentation silero_off_threshold must be in (0, 1), got "
                             f"{self.silero_off_threshold}")
        for name in ("frame", "min_speech", "max_utterance", "window"):
            if getattr(self, name) <= 0:
                raise ValueError(f"segmentation {name} must be > 0 s, got {getattr(self, name)}")
        if self.min_silence < 0 or self.threshold_db < 0 or self.speech_pad < 0:
            raise ValueError("segmentation min_silence, speech_pad and threshold_db must be >= 0")
        if self.max_utterance < self.min_speech:
            raise ValueError(f"max_utterance {self.max_utterance} s is shorter than min_speech "
                             f"{self.min_speech} s")


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds: duration in seconds (None if unknown) and its streams."""

    path: str
    duration: float | None
    has_audio: bool
    has_video: bool


@dataclass
class Segmentation:
    """Segments found: (K, 2) start/end seconds, the method and detector used, and why (``reason``)."""

    segments: np.ndarray
    method: str
    reason: str
    split_long: int = 0
    vad: str | None = None
    vad_fallback: str | None = None


def probe_media(path: str | os.PathLike) -> MediaInfo:
    """Open a video (or audio) file once to learn its length and streams.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is empty, unreadable, or holds neither audio nor video.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found")
    if path.stat().st_size == 0:
        raise InputError(f"video {path} is empty (0 bytes); re-copy or re-export it")
    try:
        with av.open(str(path)) as container:
            audio, video = bool(container.streams.audio), bool(container.streams.video)
            duration = _duration(container)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise InputError(
            f"video {path} cannot be read ({error}); is it a complete video file? Re-export it, e.g. as mp4"
        ) from None
    if not audio and not video:
        raise InputError(f"{path} holds neither an audio nor a video stream")
    return MediaInfo(str(path), duration, audio, video)


def _duration(container) -> float | None:
    ends = []
    for stream in container.streams:
        if stream.duration is not None and stream.time_base is not None:
            start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
            ends.append(start + float(stream.duration * stream.time_base))
    if ends:
        return max(ends)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    return None


def frame_levels(
    path: str | os.PathLike, *, sample_rate: int = 16000, frame: float = 0.03, progress: bool = True
) -> tuple[np.ndarray, float]:
    """RMS level of every ``frame``-second frame of the first audio stream, decoded chunk by chunk.

    Memory holds one decoded chunk and one float per frame, whatever the file's length.

    Returns:
        ((F,) float32 levels in dBFS, -inf for digital silence; time in seconds of the first sample).

    Raises:
        ValueError: the file has no audio stream or its audio cannot be decoded.
    """
    return energy_levels(path, sample_rate=sample_rate, frame=frame, progress=progress), audio_origin(path)


def voiced_segments(levels: np.ndarray, config: SegmentationConfig,
                    origin: float = 0.0) -> tuple[np.ndarray, int]:
    """Apply the module's rule to frame levels.

    Args:
        levels: (F,) dBFS per frame.
        config: thresholds and durations.
        origin: time of the first frame in seconds.

    Returns:
        ((K, 2) start/end seconds, number of voiced runs split for being longer than ``max_utterance``).
    """
    if levels.size == 0:
        return np.zeros((0, 2)), 0
    # Digital silence (-inf) is background too: leaving it out would make speech its own background.
    noise = float(np.percentile(np.maximum(levels, _SILENCE_DBFS), 10))
    voiced = levels >= max(config.floor_dbfs, noise + config.threshold_db)  # (F,)
    return voiced_runs(voiced, config.frame, config, origin)


def hysteresis(probs: np.ndarray, on: float, off: float) -> np.ndarray:
    """(F,) speech probabilities -> (F,) voiced flags: on from a frame >= ``on`` until a frame < ``off``."""
    decisive = (probs >= on) | (probs < off)  # frames that set the state; the others keep it
    last = np.maximum.accumulate(np.where(decisive, np.arange(len(probs)), -1))  # (F,)
    return (last >= 0) & (probs[np.maximum(last, 0)] >= on)


def voiced_runs(voiced: np.ndarray, frame: float, config: SegmentationConfig, origin: float = 0.0
                ) -> tuple[np.ndarray, int]:
    """(F,) voiced flags of ``frame``-second frames -> ((K, 2) utterance start/end seconds, runs split),
    with the module's padding, joining, dropping and splitting rule."""
    if voiced.size == 0:
        return np.zeros((0, 2)), 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2).astype(np.float64) * frame + origin  # (R, 2) start, end
    if len(runs) == 0:
        return np.zeros((0, 2)), 0
    runs[:, 0] = np.maximum(runs[:, 0] - config.speech_pad, origin)
    runs[:, 1] = np.minimum(runs[:, 1] + config.speech_pad, origin + len(voiced) * frame)
    joined = [runs[0].copy()]
    for start, end in runs[1:]:
        if start - joined[-1][1] < config.min_silence:
            joined[-1][1] = end
        else:
            joined.append(np.array([start, end]))
    segments, split = [], 0
    for start, end in joined:
        length = end - start
        if length < config.min_speech:
            continue
        pieces = math.ceil(length / config.max_utterance - 1e-9)
        split += pieces > 1
        bounds = np.linspace(start, end, pieces + 1)
        segments.extend(itertools.pairwise(bounds))
    return np.asarray(segments, dtype=np.float64).reshape(-1, 2), split


def silero_voiced(probs: np.ndarray, config: SegmentationConfig) -> np.ndarray:
    """(F,) silero speech probabilities -> (F,) voiced flags, with the config's hysteresis."""
    off = config.silero_off_threshold
    if off is None:
        off = config.silero_threshold - 0.15
    return hysteresis(probs, config.silero_threshold, min(max(off, 0.01), config.silero_threshold))


def fixed_segments(duration: float, window: float, min_length: float = 0.0) -> np.ndarray:
    """(K, 2) consecutive ``window``-second segments covering [0, duration); a last remainder shorter than
    ``min_length`` joins the window before it (a 30.0000625 s file gives no 62 µs utterance)."""
    starts = np.arange(0.0, duration, window)
    if len(starts) > 1 and duration - starts[-1] < min_length:
        starts = starts[:-1]
    return np.stack([starts, np.append(starts[1:], duration)], axis=1)


def segment_media(info: MediaInfo, config: SegmentationConfig, *, progress: bool = True) -> Segmentation:
    """Utterance segments of a recording without transcript (the module's rule and its fallbacks)."""
    detector, fallback = None, None
    if config.method == "vad" and info.has_audio:
        segments, split, detector, fallback = _voice_activity(info, config, progress)
        if len(segments):
            log.info("voice activity (%s): %d utterances (%d long runs split)", detector, len(segments),
                     split)
            return Segmentation(segments, "vad", "voice activity in the audio", split, detector, fallback)
        reason = "no speech found in the audio"
    elif config.method == "vad":
        reason = "the recording has no audio stream"
    else:
        reason = "fixed windows asked for"
    if not info.duration:
        raise InputError(f"{info.path}: {reason}, and its duration is unknown, so it cannot be segmented")
    if reason != "fixed windows asked for":
        log.warning("%s: %s; cutting it into %.1f s windows instead", info.path, reason, config.window)
    segments = fixed_segments(info.duration, config.window, config.min_speech)
    return Segmentation(segments, "fixed", reason, 0, detector, fallback)


def _voice_activity(info: MediaInfo, config: SegmentationConfig, progress: bool
                    ) -> tuple[np.ndarray, int, str, str | None]:
    """(segments, runs split, detector used, why silero was not used or None)."""
    fallback = None
    if config.vad == "silero":
        try:
            probs, frame = silero_probabilities(info.path, sample_rate=config.sample_rate, progress=progress)
        except VadUnavailable as error:
            fallback = str(error)
            log.warning("%s; using the energy detector instead", error)
        else:
            segments, split = voiced_runs(silero_voiced(probs, config), frame, config,
                                          audio_origin(info.path))
            return segments, split, "silero", None
    levels, origin = frame_levels(info.path, sample_rate=config.sample_rate, frame=config.frame,
                                  progress=progress)
    segments, split = voiced_segments(levels, config, origin)
    return segments, split, "energy", fallback
