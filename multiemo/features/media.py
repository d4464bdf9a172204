"""Decoding audio and sampled video frames from media files with PyAV (bundled FFmpeg, no system ffmpeg).

Every failure a user's data can cause (a missing or empty file, undecodable bytes, a file without the
stream we need, a segment with nothing in it) ends in a :class:`MediaError` whose ``status`` is the word
that extractors record in their :class:`~multiemo.outcomes.StageOutcomes`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np

MISSING_FILE = "missing_file"
CORRUPT = "corrupt"
NO_AUDIO = "no_audio"
NO_VIDEO = "no_video"
EMPTY = "empty"


class MediaError(Exception):
    """A media file that cannot give what was asked; ``status`` is one of the module's status words."""

    def __init__(self, status: str, path: str | os.PathLike, detail: str) -> None:
        self.status = status
        self.path = str(path)
        super().__init__(f"{path}: {detail}")


def decode_audio(
    path: str | os.PathLike,
    *,
    start: float | None = None,
    end: float | None = None,
    sample_rate: int = 16000,
) -> np.ndarray:
    """Decode the first audio stream of a video or audio file (mp4, wav, ...) to mono float.

    Args:
        path: media file.
        start, end: segment in seconds from the start of the file; ``None`` (or NaN) = file start / end.
        sample_rate: output rate in Hz.

    Returns:
        (S,) float32 samples in [-1, 1] at ``sample_rate``. Times are those of the decoded stream: the
        few ms of encoder delay that AAC puts at the start of a file are not removed.

    Raises:
        MediaError: ``missing_file``, ``corrupt``, ``no_audio`` or ``empty`` (nothing inside the segment).
    """
    start, end = _check_segment(path, start, end)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    chunks: list[np.ndarray] = []
    first_time: float | None = None
    with _open(path) as container:
        if not container.streams.audio:
            raise MediaError(NO_AUDIO, path, "has no audio stream")
        stream = container.streams.audio[0]
        _seek(container, stream, start, path)
        for frame in _decode(container, stream, path):
            time = frame.time
            if end is not None and time is not None and time >= end:
                break
            if first_time is None:
                first_time = time if time is not None else 0.0
            chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(frame))
        chunks.extend(out.to_ndarray().reshape(-1) for out in resampler.resample(None))
    signal = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    # Decoding starts at the packet before ``start``; cut the exact segment by sample index.
    origin = first_time or 0.0
    lo = max(0, round(((start or 0.0) - origin) * sample_rate))
    hi = len(signal) if end is None else max(lo, round((end - origin) * sample_rate))
    signal = signal[lo:hi]
    if signal.size == 0:
        raise MediaError(EMPTY, path, f"no audio samples in segment [{start}, {end}] s")
    return np.ascontiguousarray(signal, dtype=np.float32)


def sample_frames(
    path: str | os.PathLike,
    *,
    num_frames: int,
    start: float | None = None,
    end: float | None = None,
    max_side: int | None = None,
) -> np.ndarray:
    """Pick ``num_frames`` frames evenly spaced over a segment of the first video stream.

    The segment is cut into ``num_frames`` equal slots and the frame shown at each slot's centre is
    taken. Decoding seeks to ``start`` and stops at ``end``; only the chosen frames are converted to RGB
    and kept. A segment with fewer frames than slots gives each distinct frame once (n < num_frames).

    Args:
        path: video file.
        num_frames: frames wanted (>= 1).
        start, end: segment in seconds from the start of the file; ``None`` (or NaN) = file start / end.
        max_side: if given, frames are downscaled (aspect kept) so that neither side exceeds it.

    Returns:
        (n, H, W, 3) uint8 RGB frames in time order, 1 <= n <= num_frames.

    Raises:
        MediaError: ``missing_file``, ``corrupt``, ``no_video`` or ``empty`` (no frame in the segment).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    if max_side is not None and max_side < 2:
        raise ValueError(f"max_side must be >= 2 or None, got {max_side}")
    start, end = _check_segment(path, start, end)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(NO_VIDEO, path, "has no video stream")
        stream = container.streams.video[0]
        seg_start = start if start is not None else _stream_start(stream)
        seg_end = end if end is not None else _stream_end(container, stream, path)
        if seg_end <= seg_start:
            raise MediaError(EMPTY, path, f"empty video segment [{seg_start}, {seg_end}] s")
        slot = (seg_end - seg_start) / num_frames
        targets = seg_start + (np.arange(num_frames) + 0.5) * slot
        chosen: list[av.VideoFrame] = []
        _seek(container, stream, start, path)
        previous = None
        for frame in _decode(container, stream, path):
            time = frame.time if frame.time is not None else seg_start
            if time >= seg_end:
                break
            # ``previous`` is on screen until ``frame`` starts, so it is the frame shown at earlier targets.
            while len(chosen) < num_frames and time > targets[len(chosen)]:
                chosen.append(previous if previous is not None else frame)
            if len(chosen) == num_frames:
                break
            previous = frame
        # The last frame covers the remaining targets unless it ended before the segment began.
        frame_time = 1.0 / float(stream.average_rate) if stream.average_rate else 0.0
        if previous is not None and (previous.time is None or previous.time + frame_time > seg_start):
            chosen.extend([previous] * (num_frames - len(chosen)))
    unique = list({id(frame): frame for frame in chosen}.values())
    if not unique:
        raise MediaError(EMPTY, path, f"no video frames in segment [{seg_start}, {seg_end}] s")
    return np.stack([_to_rgb(frame, max_side) for frame in unique])


def _to_rgb(frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    width, height = frame.width, frame.height
    scale = 1.0 if max_side is None else min(1.0, max_side / max(width, height))
    if scale < 1.0:
        # Even sizes keep swscale's chroma handling exact for yuv420p sources.
        width = max(2, round(width * scale / 2) * 2)
        height = max(2, round(height * scale / 2) * 2)
    return frame.to_ndarray(width=width, height=height, format="rgb24")


def _check_segment(
    path: str | os.PathLike, start: float | None, end: float | None
) -> tuple[float | None, float | None]:
    start = None if start is None or math.isnan(start) else float(start)
    end = None if end is None or math.isnan(end) else float(end)
    if start is not None and start < 0:
        raise ValueError(f"{path}: segment start must be >= 0 s, got {start}")
    if start is not None and end is not None and end <= start:
        raise MediaError(EMPTY, path, f"segment end {end} s is not after start {start} s")
    return start, end


@contextmanager
def _open(path: str | os.PathLike) -> Iterator[av.container.InputContainer]:
    path = Path(path)
    if not path.is_file():
        raise MediaError(MISSING_FILE, path, "file not found; check the media column of the utterance table")
    if path.stat().st_size == 0:
        raise MediaError(EMPTY, path, "file is empty (0 bytes); re-copy or re-download it")
    try:
        container = av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise MediaError(CORRUPT, path, f"cannot be opened as media ({exc}); the file is damaged") from exc
    try:
        yield container
    finally:
        container.close()


def _decode(container: av.container.InputContainer, stream: av.stream.Stream, path: str | os.PathLike):
    """Decoded frames of ``stream``; decoder errors become ``corrupt`` MediaErrors."""
    try:
        yield from container.decode(stream)
    except (av.error.FFmpegError, ValueError) as exc:
        raise MediaError(CORRUPT, path, f"decoding failed ({exc}); the file is damaged") from exc


def _seek(container, stream, start: float | None, path: str | os.PathLike) -> None:
    """Jump to the keyframe at or before ``start`` (no-op at file start)."""
    if not start or stream.time_base is None:
        return
    try:
        container.seek(int(start / stream.time_base), stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError as exc:
        raise MediaError(CORRUPT, path, f"cannot seek to {start} s ({exc})") from exc


def _stream_start(stream) -> float:
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


def _stream_end(container, stream, path: str | os.PathLike) -> float:
    """End time of the stream from its header, or from packet times when the header has none."""
    if stream.duration is not None and stream.time_base is not None:
        return _stream_start(stream) + float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration / av.time_base)
    # No duration anywhere: demux packets (cheap, no decoding) to find the last presentation time.
    last = 0.0
    try:
        for packet in container.demux(stream):
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        container.seek(0, stream=stream)
    except av.error.FFmpegError as exc:
        raise MediaError(CORRUPT, path, f"reading packets failed ({exc}); the file is damaged") from exc
    return last
