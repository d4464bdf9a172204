"""Writing small media files (H.264 video + AAC audio in mp4, or PCM wav) with PyAV.

A test and benchmark helper, not part of the library: tests and benchmarks make their clips in code with
this one writer instead of shipping binaries (benchmarks run as `python -m benchmarks.NAME` from the repo
root).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import av
import numpy as np

from multiemo.io import atomic_path

_AUDIO_CHUNK = 1024  # samples per AAC frame


def write_clip(
    path: str | os.PathLike,
    *,
    frames: np.ndarray | Iterable[np.ndarray] | None = None,
    fps: int = 24,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
) -> Path:
    """Write an mp4 (H.264 + AAC) or, for a ``.wav`` path, a 16-bit PCM wav; atomically.

    Args:
        path: output file; the suffix picks the container.
        frames: (T, H, W, 3) uint8 RGB frames, or an iterable of (H, W, 3) frames of one even size
            (lets long clips be written without holding them in memory); ``None`` = no video stream.
        fps: frame rate of the video stream.
        audio: (S,) float mono samples in [-1, 1]; ``None`` = no audio stream.
        sample_rate: rate of ``audio`` in Hz.

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    if frames is None and audio is None:
        raise ValueError(f"{path}: a clip needs frames, audio or both")
    is_wav = path.suffix.lower() == ".wav"
    if is_wav and frames is not None:
        raise ValueError(f"{path}: a wav file cannot hold video frames")
    with (
        atomic_path(path) as tmp,
        av.open(str(tmp), mode="w", format="wav" if is_wav else "mp4") as container,
    ):
        # Every stream must exist before the first packet is muxed (that writes the header).
        video = _add_video(container, frames, fps) if frames is not None else None
        audio_stream = None
        if audio is not None:
            codec = "pcm_s16le" if is_wav else "aac"
            audio_stream = container.add_stream(codec, rate=sample_rate, layout="mono")
        if video is not None:
            _write_video(container, *video)
        if audio_stream is not None:
            _write_audio(container, audio_stream, audio, sample_rate)
    return path


def _add_video(container, frames: np.ndarray | Iterable[np.ndarray], fps: int):
    frames = iter(frames)
    first = next(frames, None)
    if first is None:
        raise ValueError("frames is empty")
    stream = container.add_stream("libx264", rate=fps)
    stream.height, stream.width = first.shape[:2]
    stream.pix_fmt = "yuv420p"
    stream.options = {"preset": "ultrafast"}
    return stream, first, frames


def _write_video(container, stream, first: np.ndarray, rest: Iterator[np.ndarray]) -> None:
    for image in itertools.chain([first], rest):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, dtype=np.uint8), format="rgb24")
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _write_audio(container, stream, audio: np.ndarray, sample_rate: int) -> None:
    samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
    for offset in range(0, len(samples), _AUDIO_CHUNK):
        frame = av.AudioFrame.from_ndarray(
            samples[None, offset : offset + _AUDIO_CHUNK], format="flt", layout="mono"
        )
        frame.sample_rate = sample_rate
        frame.pts = offset
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
