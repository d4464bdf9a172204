"""Utterances without a transcript: streamed frame levels, the voice-activity rule, its fallbacks, probing."""

from __future__ import annotations

import numpy as np
import pytest

from multiemo.conversations.segmentation import (
    SegmentationConfig,
    fixed_segments,
    frame_levels,
    hysteresis,
    probe_media,
    segment_media,
    silero_voiced,
    voiced_runs,
    voiced_segments,
)
from multiemo.features.media import decode_audio
from tests.clips import write_clip
from tests.conversations.conftest import SR, TALK, TALK_SECONDS
from tests.features.conftest import astronaut_frame


def levels_of(pattern: str, frame: float = 0.1) -> np.ndarray:
    """One frame per character: '#' speech at -20 dBFS, '.' background at -70 dBFS."""
    return np.array([-20.0 if ch == "#" else -70.0 for ch in pattern], dtype=np.float32)


def test_rule_joins_short_pauses_drops_blips_and_splits_long_runs():
    config = SegmentationConfig(frame=0.1, min_speech=0.3, min_silence=0.4, max_utterance=1.0, speech_pad=0.0)
    #        0         1         2         3
    levels = levels_of("..####..###.....#......############...")
    segments, split = voiced_segments(levels, config)
    # 0.2-0.6 and 0.8-1.1 are 0.2 s apart: one utterance; the 0.1 s blip at 1.6 is dropped; 2.3-3.5 s
    # (1.2 s) is split into two equal pieces.
    np.testing.assert_allclose(segments, [[0.2, 1.1], [2.3, 2.9], [2.9, 3.5]], atol=1e-9)
    assert split == 1


def test_hysteresis_starts_at_the_on_threshold_and_ends_below_the_off_threshold():
    probs = np.array([0.4, 0.6, 0.4, 0.36, 0.3, 0.4, 0.5, 0.2, 0.49])
    # on at 0.6, held through 0.4 and 0.36, off at 0.3 (< 0.35); 0.4 alone does not start speech; on at 0.5.
    assert hysteresis(probs, 0.5, 0.35).tolist() == [False, True, True, True, False, False, True, False,
                                                     False]
    assert silero_voiced(probs, SegmentationConfig(silero_threshold=0.5)).tolist() == \
        hysteresis(probs, 0.5, 0.35).tolist()  # silero's own rule: 0.15 below
    plain = SegmentationConfig(silero_threshold=0.5, silero_off_threshold=0.5)  # no hysteresis
    assert silero_voiced(probs, plain).tolist() == (probs >= 0.5).tolist()


def test_padding_widens_runs_before_they_are_joined_and_stays_inside_the_recording():
    voiced = np.array([1, 1, 0, 0, 0, 0, 1, 1, 0, 0], bool)  # 0.0-0.2 and 0.6-0.8 s, in 0.1 s frames
    config = SegmentationConfig(min_speech=0.1, min_silence=0.2, speech_pad=0.0)
    np.testing.assert_allclose(voiced_runs(voiced, 0.1, config)[0], [[0.0, 0.2], [0.6, 0.8]], atol=1e-9)
    # gap 0.4 - 0.2 = 0.2: kept apart
    padded = SegmentationConfig(min_speech=0.1, min_silence=0.2, speech_pad=0.1)
    np.testing.assert_allclose(voiced_runs(voiced, 0.1, padded)[0], [[0.0, 0.3], [0.5, 0.9]], atol=1e-9)
    joined = SegmentationConfig(min_speech=0.1, min_silence=0.25, speech_pad=0.1)
    np.testing.assert_allclose(voiced_runs(voiced, 0.1, joined)[0], [[0.0, 0.9]], atol=1e-9)
    wide = SegmentationConfig(min_speech=0.1, min_silence=0.0, speech_pad=5.0)  # clipped to [0, 1.0]
    np.testing.assert_allclose(voiced_runs(voiced, 0.1, wide)[0], [[0.0, 1.0]], atol=1e-9)


def test_fixed_windows_give_a_short_remainder_to_the_last_window():
    np.testing.assert_allclose(fixed_segments(30.0000625, 5.0, 0.3)[-1], [25.0, 30.0000625])
    assert len(fixed_segments(30.0000625, 5.0, 0.3)) == 6
    np.testing.assert_allclose(fixed_segments(6.0, 2.5, 0.3), [[0, 2.5], [2.5, 5.0], [5.0, 6.0]])
    np.testing.assert_allclose(fixed_segments(0.1, 5.0, 0.3), [[0, 0.1]])  # a recording shorter than that


def test_threshold_follows_the_background_level():
    config = SegmentationConfig(frame=0.1, threshold_db=15, floor_dbfs=-50, min_silence=0.4, speech_pad=0.0)
    noisy = np.where(np.arange(40) % 10 < 5, -45.0, -25.0).astype(np.float32)  # background -45 dBFS
    segments, _ = voiced_segments(noisy, config)
    assert len(segments) == 4
    assert len(voiced_segments(np.full(30, -45.0, np.float32), config)[0]) == 0  # all background
    # A clean recording: digital silence (-inf) around speech that makes up most of the finite frames.
    clean = np.where(np.arange(100) % 20 < 5, -np.inf, -20.0 - 8 * (np.arange(100) % 2)).astype(np.float32)
    assert len(voiced_segments(clean, config)[0]) == 5


def test_streamed_levels_equal_those_of_the_whole_signal(tmp_path):
    t = np.arange(3 * SR) / SR
    signal = (0.3 * np.sin(2 * np.pi * 220 * t) * (t % 1 < 0.5)).astype(np.float32)
    path = write_clip(tmp_path / "tone.wav", audio=signal, sample_rate=SR)
    levels, origin = frame_levels(path, sample_rate=SR, frame=0.03, progress=False)
    whole = decode_audio(path, sample_rate=SR)
    size = round(0.03 * SR)
    frames = whole[: len(whole) // size * size].reshape(-1, size)
    expected = 20 * np.log10(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)) + 1e-30)
    assert origin == 0.0 and len(levels) == len(expected) + (len(whole) % size > 0)
    finite = np.isfinite(levels[: len(expected)])
    np.testing.assert_allclose(levels[: len(expected)][finite], expected[finite], atol=1e-3)


def test_voice_activity_finds_the_spoken_spans_of_a_video(talk):
    config = SegmentationConfig(vad="energy", min_silence=0.4, speech_pad=0.0)  # the talk pauses 0.6 s
    found = segment_media(probe_media(talk["video"]), config, progress=False)
    assert found.method == "vad"
    np.testing.assert_allclose(found.segments, [(a, b) for a, b, *_ in TALK], atol=0.1)


def test_silent_or_soundless_video_falls_back_to_fixed_windows(tmp_path):
    frames = [astronaut_frame()] * 24
    silent = write_clip(tmp_path / "silent.mp4", frames=frames, fps=4, audio=np.zeros(6 * SR), sample_rate=SR)
    mute = write_clip(tmp_path / "mute.mp4", frames=frames, fps=4)
    config = SegmentationConfig(window=2.5)
    for path, reason in ((silent, "no speech found"), (mute, "no audio stream")):
        found = segment_media(probe_media(path), config, progress=False)
        assert found.method == "fixed" and reason in found.reason
        np.testing.assert_allclose(found.segments, fixed_segments(6.0, 2.5), atol=0.1)
    np.testing.assert_allclose(fixed_segments(6.0, 2.5), [[0, 2.5], [2.5, 5.0], [5.0, 6.0]])


def test_probe_reads_duration_and_rejects_unreadable_files(talk, tmp_path):
    info = probe_media(talk["video"])
    assert info.has_audio and info.has_video and info.duration == pytest.approx(TALK_SECONDS, abs=0.1)
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "noise.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    data = talk["video"].read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    for name, message in (("empty.mp4", "is empty"), ("noise.mp4", "cannot be read"),
                          ("truncated.mp4", "cannot be read")):
        with pytest.raises(ValueError, match=message):
            probe_media(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="not found"):
        probe_media(tmp_path / "absent.mp4")


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="method"):
        SegmentationConfig(method="diarize")
    with pytest.raises(ValueError, match="shorter than min_speech"):
        SegmentationConfig(min_speech=2.0, max_utterance=1.0)
