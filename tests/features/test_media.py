"""Decoding real mp4/wav files made with PyAV: lengths, cuts, sampled frames and every failure status."""

from __future__ import annotations

import numpy as np
import pytest

from multiemo.features.media import MediaError, decode_audio, sample_frames

from .conftest import FPS, SIZE, SR

AAC_PRIMING = 1024  # AAC decoders may emit up to one frame of encoder delay


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


@pytest.mark.parametrize("name", ["face", "speech_wav", "audio_only"])
def test_decode_audio_whole_file_is_mono_float_at_requested_rate(clips, name):
    signal = decode_audio(clips[name])
    assert signal.dtype == np.float32 and signal.ndim == 1
    assert 3 * SR <= len(signal) <= 3 * SR + AAC_PRIMING
    assert 0.01 < np.abs(signal).max() <= 1.0
    assert len(decode_audio(clips[name], sample_rate=8000)) == pytest.approx(len(signal) / 2, abs=AAC_PRIMING)


@pytest.mark.parametrize("name", ["face", "speech_wav"])
def test_decode_audio_cuts_the_segment_exactly(clips, name):
    whole = decode_audio(clips[name])
    cut = decode_audio(clips[name], start=1.0, end=2.25)
    assert len(cut) == int(1.25 * SR)
    # Same samples as the whole-file decode at that position (up to the lossy codec's frame edges).
    np.testing.assert_allclose(cut[2000:-2000], whole[SR + 2000 : int(2.25 * SR) - 2000], atol=2e-2)
    tail = decode_audio(clips[name], start=2.5)
    assert len(tail) == pytest.approx(0.5 * SR, abs=AAC_PRIMING)


def test_sample_frames_spreads_over_the_clip(clips):
    frames = sample_frames(clips["ramp"], num_frames=6)
    assert frames.shape == (6, *SIZE, 3) and frames.dtype == np.uint8
    index = frames.reshape(6, -1).mean(axis=1) / 3  # the grey level written was 3 * frame index
    # Slot centres of a 3 s clip cut in 6: 0.25 s, 0.75 s, ... -> frames 6, 18, 30, 42, 54, 66 at 24 fps.
    np.testing.assert_allclose(index, [6, 18, 30, 42, 54, 66], atol=1.5)


def test_sample_frames_respects_segment_and_max_side(clips):
    frames = sample_frames(clips["ramp"], num_frames=4, start=1.0, end=2.0, max_side=160)
    assert frames.shape == (4, 120, 160, 3)
    index = frames.reshape(4, -1).mean(axis=1) / 3
    assert np.all(index > FPS * 1.0 - 1.5) and np.all(index < FPS * 2.0 + 1.5)
    assert np.all(np.diff(index) > 0)


def test_short_segment_gives_each_frame_once(clips):
    frames = sample_frames(clips["ramp"], num_frames=10, start=1.0, end=1.1)
    assert 2 <= len(frames) <= 3  # 0.1 s at 24 fps holds 2-3 frames, not 10 copies


@pytest.mark.parametrize(
    ("name", "call", "status"),
    [
        ("ramp", "audio", "no_audio"),
        ("audio_only", "video", "no_video"),
        ("speech_wav", "video", "no_video"),
        ("empty", "audio", "empty"),
        ("empty", "video", "empty"),
        ("corrupt", "audio", "corrupt"),
        ("corrupt", "video", "corrupt"),
        ("truncated", "video", "corrupt"),
        ("missing", "audio", "missing_file"),
        ("missing", "video", "missing_file"),
    ],
)
def test_failures_are_media_errors_naming_the_file(clips, name, call, status):
    with pytest.raises(MediaError) as caught:
        if call == "audio":
            decode_audio(clips[name])
        else:
            sample_frames(clips[name], num_frames=2)
    assert caught.value.status == status
    assert str(clips[name]) in str(caught.value)


def test_segment_past_the_end_is_empty(clips):
    with pytest.raises(MediaError, match="segment") as caught:
        decode_audio(clips["face"], start=5.0, end=6.0)
    assert caught.value.status == "empty"
    with pytest.raises(MediaError) as caught:
        sample_frames(clips["face"], num_frames=2, start=5.0, end=6.0)
    assert caught.value.status == "empty"


def test_nan_bounds_mean_whole_file(clips):
    assert len(decode_audio(clips["speech_wav"], start=float("nan"), end=float("nan"))) == 3 * SR
    assert _rms(decode_audio(clips["speech_wav"])) > 0.01
