"""Utterance segments of a video without a transcript: energy-based voice activity, streamed.

Rule (``method="vad"``): the audio is decoded chunk by chunk (never whole) to mono at ``sample_rate`` and
cut into ``frame``-second frames; a frame is *voiced* when its RMS level (dBFS) is at least
``max(floor_dbfs, noise + threshold_db)``, where ``noise`` is the 10th percentile of all frame levels (the
recording's background; all-zero frames count as -120 dBFS). Voiced runs separated by less than ``min_silence`` s are joined, runs shorter
than ``min_speech`` s are dropped, and runs longer than ``max_utterance`` s are split into equal pieces no
longer than that. Each segment is one utterance of speaker ``unknown``.

Fallback, recorded in :attr:`Segmentation.method`: a video without an audio stream, or one where no frame
is voiced, is cut into fixed ``window``-second segments (``method="fixed"``) so that faces are still
classified. ``method="fixed"`` asks for fixed windows directly.
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
from tqdm.auto import tqdm

log = logging.getLogger(__name__)

METHODS = ("vad", "fixed")
_SILENCE_DBFS = -120.0  # level given to all-zero frames when estimating the background


@dataclass(frozen=True)
class SegmentationConfig:
    """How a video without transcript is cut into utterances (see the module docstring for the rule).

    Attributes:
        method: ``vad`` (voice activity) or ``fixed`` (equal windows).
        sample_rate: rate (Hz) the audio is decoded at for the energy computation.
        frame: frame length in seconds.
        threshold_db: a voiced frame is this many dB above the background level.
        floor_dbfs: frames below this level are never voiced.
        min_speech: shortest utterance kept, in seconds.
        min_silence: shorter pauses do not end an utterance, in seconds.
        max_utterance: longer voiced runs are split into equal pieces, in seconds.
        window: segment length of ``fixed`` windows, in seconds.
    """

    method: str = "vad"
    sample_rate: int = 16000
    frame: float = 0.03
    threshold_db: float = 15.0
    floor_dbfs: float = -50.0
    min_speech: float = 0.3
    min_silence: float = 0.4
    max_utterance: float = 10.0
    window: float = 5.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"segmentation method must be one of {METHODS}, got {self.method!r}")
        for name in ("frame", "min_speech", "max_utterance", "window"):
            if getattr(self, name) <= 0:
                raise ValueError(f"segmentation {name} must be > 0 s, got {getattr(self, name)}")
        if self.min_silence < 0 or self.threshold_db < 0:
            raise ValueError("segmentation min_silence and threshold_db must be >= 0")
        if self.max_utterance < self.min_speech:
            raise ValueError(f"max_utterance {self.max_utterance} s is shorter than min_speech {self.min_speech} s")


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds: duration in seconds (None if unknown) and its streams."""

    path: str
    duration: float | None
    has_audio: bool
    has_video: bool


@dataclass
class Segmentation:
    """Segments found: (K, 2) start/end seconds, the method used and why (``reason``)."""

    segments: np.ndarray
    method: str
    reason: str
    split_long: int = 0


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
        raise ValueError(f"video {path} is empty (0 bytes); re-copy or re-export it")
    try:
        with av.open(str(path)) as container:
            audio, video = bool(container.streams.audio), bool(container.streams.video)
            duration = _duration(container)
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(
            f"video {path} cannot be read ({error}); is it a complete video file? Re-export it, e.g. as mp4"
        ) from None
    if not audio and not video:
        raise ValueError(f"{path} holds neither an audio nor a video stream")
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
    size = max(1, round(frame * sample_rate))
    levels: list[np.ndarray] = []
    carry = np.zeros(0, dtype=np.float32)
    origin: float | None = None
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ValueError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            total = _duration(container)
            with tqdm(total=round(total or 0), unit="s", desc="voice activity", disable=not progress) as bar:
                for decoded in container.decode(stream):
                    if origin is None:
                        origin = decoded.time or 0.0
                    chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(decoded)]
                    carry = _add_levels(np.concatenate([carry, *chunks]), size, levels)
                    if decoded.time is not None and bar.total:
                        bar.update(max(0, min(bar.total, int(decoded.time)) - bar.n))
                chunks = [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
                carry = _add_levels(np.concatenate([carry, *chunks]), size, levels)
    except av.error.FFmpegError as error:
        raise ValueError(f"the audio of {path} cannot be decoded ({error}); the file is damaged") from None
    if carry.size:
        levels.append(_dbfs(carry[None]))
    return (np.concatenate(levels) if levels else np.zeros(0, np.float32)), origin or 0.0


def _add_levels(samples: np.ndarray, size: int, levels: list[np.ndarray]) -> np.ndarray:
    """Append the levels of the whole frames in ``samples``; return the leftover samples."""
    whole = len(samples) // size
    if whole:
        levels.append(_dbfs(samples[: whole * size].reshape(whole, size)))
    return samples[whole * size :]


def _dbfs(frames: np.ndarray) -> np.ndarray:
    """(F, S) samples -> (F,) RMS level in dBFS (-inf for all-zero frames)."""
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    with np.errstate(divide="ignore"):
        return (20.0 * np.log10(rms)).astype(np.float32)


def voiced_segments(levels: np.ndarray, config: SegmentationConfig, origin: float = 0.0) -> tuple[np.ndarray, int]:
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
    edges = np.flatnonzero(np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2).astype(np.float64) * config.frame + origin  # (R, 2) start, end
    if len(runs) == 0:
        return np.zeros((0, 2)), 0
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


def fixed_segments(duration: float, window: float) -> np.ndarray:
    """(K, 2) consecutive ``window``-second segments covering [0, duration); the last may be shorter."""
    starts = np.arange(0.0, duration, window)
    return np.stack([starts, np.minimum(starts + window, duration)], axis=1)


def segment_media(info: MediaInfo, config: SegmentationConfig, *, progress: bool = True) -> Segmentation:
    """Utterance segments of a video without transcript (the module's rule and its fallback)."""
    if config.method == "vad" and info.has_audio:
        levels, origin = frame_levels(info.path, sample_rate=config.sample_rate, frame=config.frame,
                                      progress=progress)
        segments, split = voiced_segments(levels, config, origin)
        if len(segments):
            log.info("voice activity: %d utterances (%d long runs split)", len(segments), split)
            return Segmentation(segments, "vad", "voice activity in the audio", split)
        reason = "no speech found in the audio"
    elif config.method == "vad":
        reason = "the video has no audio stream"
    else:
        reason = "fixed windows asked for"
    if not info.duration:
        raise ValueError(f"{info.path}: {reason}, and its duration is unknown, so it cannot be segmented")
    if reason != "fixed windows asked for":
        log.warning("%s: %s; cutting it into %.1f s windows instead", info.path, reason, config.window)
    return Segmentation(fixed_segments(info.duration, config.window), "fixed", reason)
