"""Voice activity per frame, from a streamed audio track: silero-vad's speech probability, or RMS energy.

Both detectors read the audio chunk by chunk (:func:`stream_audio`): memory holds one decoded chunk and one
float per frame, whatever the recording's length.

* ``silero``: the silero-vad model (its weights ship inside the ``silero-vad`` wheel, no download) gives a
  speech probability for every 512-sample frame (32 ms at 16 kHz); the model keeps its state across frames.
* ``energy``: the RMS level of every frame in dBFS (-inf for digital silence); :mod:`.segmentation` compares
  it with the recording's background level.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator

import av
import numpy as np
from tqdm.auto import tqdm

from multiemo.errors import InputError
from multiemo.settings import ConfigError

log = logging.getLogger(__name__)

#: Frame lengths (samples) silero-vad accepts, per sample rate.
SILERO_FRAME = {16000: 512, 8000: 256}


class VadUnavailable(RuntimeError):
    """The silero-vad package (or torch) is not installed."""


def stream_audio(path: str | os.PathLike, sample_rate: int, *, progress: bool = False,
                 desc: str = "audio") -> Iterator[np.ndarray]:
    """Mono float32 samples of the first audio stream at ``sample_rate``, in decoded chunks.

    The first chunk starts at the stream's first sample (its time is :func:`audio_origin`).

    Raises:
        ValueError: the file has no audio stream or its audio cannot be decoded.
    """
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise InputError(f"{path} has no audio stream")
            stream = container.streams.audio[0]
            total = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0
            with tqdm(total=round(total), unit="s", desc=desc, disable=not progress) as bar:
                for decoded in container.decode(stream):
                    for out in resampler.resample(decoded):
                        yield out.to_ndarray().reshape(-1)
                    if decoded.time is not None and bar.total:
                        bar.update(max(0, min(bar.total, int(decoded.time)) - bar.n))
                for out in resampler.resample(None):
                    yield out.to_ndarray().reshape(-1)
    except av.error.FFmpegError as error:
        raise InputError(f"the audio of {path} cannot be decoded ({error}); the file is damaged") from None


def audio_origin(path: str | os.PathLike) -> float:
    """Time in seconds of the first audio sample (0 when the container says nothing)."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            if stream.start_time is not None and stream.time_base is not None:
                return max(0.0, float(stream.start_time * stream.time_base))
    except (av.error.FFmpegError, IndexError):
        pass
    return 0.0


def framed(chunks: Iterator[np.ndarray], size: int, *, pad: bool = True) -> Iterator[np.ndarray]:
    """Re-cut a stream of sample chunks into (F, size) blocks of whole frames; a last partial frame is
    zero-padded to ``size`` (``pad``) or given as it is, (1, n)."""
    carry = np.zeros(0, dtype=np.float32)
    for chunk in chunks:
        samples = np.concatenate([carry, chunk])
        whole = len(samples) // size
        if whole:
            yield samples[: whole * size].reshape(whole, size)
        carry = samples[whole * size :]
    if carry.size:
        yield (np.pad(carry, (0, size - carry.size)) if pad else carry)[None]


def energy_levels(path: str | os.PathLike, *, sample_rate: int, frame: float, progress: bool = False
                  ) -> np.ndarray:
    """(F,) float32 RMS level of each ``frame``-second frame in dBFS, -inf for all-zero frames."""
    size = max(1, round(frame * sample_rate))
    levels = [_dbfs(block) for block in framed(stream_audio(path, sample_rate, progress=progress,
                                                            desc="voice activity"), size, pad=False)]
    return np.concatenate(levels) if levels else np.zeros(0, np.float32)


def _dbfs(frames: np.ndarray) -> np.ndarray:
    """(F, S) samples -> (F,) RMS level in dBFS (-inf for all-zero frames)."""
    rms = np.sqrt(np.mean(np.square(frames, dtype=np.float64), axis=1))
    with np.errstate(divide="ignore"):
        return (20.0 * np.log10(rms)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def load_silero():
    """The silero-vad model shipped in its wheel (TorchScript), loaded once per process.

    Raises:
        VadUnavailable: silero-vad is not installed.
    """
    try:
        from silero_vad import load_silero_vad
    except ImportError as error:
        raise VadUnavailable(f"silero-vad is not installed ({error}); pip install "
                             "'multiemo[speech]'") from None
    return load_silero_vad(onnx=False)


def silero_probabilities(path: str | os.PathLike, *, sample_rate: int = 16000, model=None,
                         progress: bool = False) -> tuple[np.ndarray, float]:
    """(F,) speech probability of each silero frame, and the frame length in seconds.

    Args:
        sample_rate: 16000 or 8000 (the rates silero-vad knows).
        model: a loaded silero model (None: :func:`load_silero`).

    Raises:
        VadUnavailable: silero-vad is not installed.
        ValueError: another sample rate, or unreadable audio.
    """
    import torch

    if sample_rate not in SILERO_FRAME:
        raise ConfigError(f"silero-vad works at {sorted(SILERO_FRAME)} Hz, got segmentation.sample_rate="
                          f"{sample_rate}: use one of those, or segmentation.vad=energy")
    model = load_silero() if model is None else model
    model.reset_states()
    size = SILERO_FRAME[sample_rate]
    probs: list[float] = []
    with torch.inference_mode():
        for block in framed(stream_audio(path, sample_rate, progress=progress, desc="voice activity"), size):
            for row in torch.from_numpy(np.ascontiguousarray(block)):  # the model is stateful: frame by frame
                probs.append(float(model(row[None], sample_rate)))
    return np.asarray(probs, dtype=np.float32), size / sample_rate
