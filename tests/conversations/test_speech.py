"""Voice activity, diarization and their scores: hand-computed cases, and the real two-speaker conversation
(the rest of the development set: test_speech_dev.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmarks.speech_metrics import diarization_error_rate, read_rttm, speech_f1
from multiemo.conversations.diarization import (
    DiarizationConfig,
    DiarizationUnavailable,
    cluster,
    cut_windows,
    diarize,
    embedding_windows,
    grid_windows,
    turns_from_windows,
)
from multiemo.conversations.inputs import from_video
from multiemo.conversations.segmentation import SegmentationConfig, probe_media, segment_media
from multiemo.conversations.speaker_clusters import split_similarity
from multiemo.conversations.speakers import attribute_speakers
from multiemo.conversations.vad import stream_audio
from tests.clips import write_clip


def test_speech_f1_by_hand():
    # reference speech 1-3 s; hypothesis 2-4 s: 1 s hit, 1 s missed, 1 s false alarm -> P = R = F1 = 0.5
    scores = speech_f1(np.array([[1.0, 3.0]]), np.array([[2.0, 4.0]]), duration=5.0)
    assert scores["precision"] == pytest.approx(0.5) and scores["recall"] == pytest.approx(0.5)
    assert scores["f1"] == pytest.approx(0.5)


def test_der_by_hand_missed_false_alarm_confusion_and_mapping():
    ref = (np.array([[0.0, 4.0], [4.0, 8.0], [6.0, 8.0]]), ["A", "B", "C"])  # C overlaps B for 2 s
    # x = A exactly; y covers B's 4-8 s; nothing for C (2 s missed); z talks 8-9 s (1 s false alarm)
    hyp = (np.array([[0.0, 4.0], [4.0, 8.0], [8.0, 9.0]]), ["x", "y", "z"])
    der = diarization_error_rate(ref, hyp, duration=10.0, collar=0.0)
    assert der["total"] == pytest.approx(10.0) and der["missed"] == pytest.approx(2.0)
    assert der["false_alarm"] == pytest.approx(1.0) and der["confusion"] == pytest.approx(0.0)
    assert der["der"] == pytest.approx(0.3) and der["mapping"] == {"x": "A", "y": "B"}
    # swapping the labels of 2 s of A's speech: confusion 2 s out of 10
    swapped = (np.array([[0.0, 2.0], [2.0, 4.0], [4.0, 8.0], [6.0, 8.0]]), ["x", "y", "y", "z"])
    der = diarization_error_rate(ref, swapped, duration=10.0, collar=0.0)
    assert der["confusion"] == pytest.approx(2.0) and der["der"] == pytest.approx(0.2)


def test_der_collar_is_the_total_width_around_each_reference_boundary():
    ref = (np.array([[1.0, 3.0]]), ["A"])
    hyp = (np.array([[1.1, 2.9]]), ["x"])  # 0.1 s missed at each end
    assert diarization_error_rate(ref, hyp, 4.0, collar=0.0)["der"] == pytest.approx(0.1)
    # 0.125 s each side
    assert diarization_error_rate(ref, hyp, 4.0, collar=0.25)["der"] == pytest.approx(0.0)
    # 10 ms grid
    assert diarization_error_rate(ref, hyp, 4.0, collar=0.25)["total"] == pytest.approx(1.75, abs=0.011)


def test_embedding_windows_are_the_grid_windows_centred_in_each_region():
    windows, index = embedding_windows(np.array([[0.0, 3.0], [5.0, 5.5]]), step=0.5, duration=5.6)
    # The grid: windows start at 0, 0.5, ..., 4.0 (centres 0.8 ... 4.8); five are centred inside 0-3 s.
    assert index.tolist() == [0, 1, 2, 3, 4, 8]
    np.testing.assert_allclose(windows, grid_windows(0.5, 5.6)[index])
    assert windows[4].tolist() == pytest.approx([2.0, 3.6])
    assert windows[-1].tolist() == pytest.approx([4.0, 5.6])  # no centre in 5-5.5 s: the nearest window
    assert grid_windows(0.4, 1.0).tolist() == [[0.0, 1.6]]  # shorter than a window: one


def test_one_voice_split_in_two_stays_alike_and_two_voices_do_not():
    rng = np.random.default_rng(0)
    voice = rng.standard_normal(16)
    one = voice + 0.3 * rng.standard_normal((40, 16))
    other = rng.standard_normal(16)
    two = np.concatenate([one[:20], other + 0.3 * rng.standard_normal((20, 16))])
    unit = [x / np.linalg.norm(x, axis=1, keepdims=True) for x in (one, two)]
    assert split_similarity(unit[0]) > 0.95 and split_similarity(unit[1]) < 0.5
    assert set(cluster(unit[0], DiarizationConfig(one_speaker_similarity=0.9))) == {0}
    assert len(set(cluster(unit[1], DiarizationConfig(one_speaker_similarity=0.9)))) == 2


def test_cut_windows_equals_slicing_the_whole_track(tmp_path):
    rng = np.random.default_rng(0)
    signal = (0.1 * rng.standard_normal(16000 * 7)).astype(np.float32)
    path = write_clip(tmp_path / "noise.wav", audio=signal, sample_rate=16000)
    whole = np.concatenate(list(stream_audio(path, 16000)))
    # unordered, overlapping, past the end
    windows = np.array([[3.0, 4.6], [0.2, 1.8], [0.5, 2.1], [6.0, 7.6]])
    cut = dict(cut_windows(path, windows, 16000))
    for i, (a, b) in enumerate(np.round(windows * 16000).astype(int)):
        np.testing.assert_array_equal(cut[i], whole[a:b])


def test_cluster_given_and_estimated_numbers_and_turns():
    rng = np.random.default_rng(1)
    centres = np.eye(3)[:2]  # two orthogonal voices
    labels = np.array([0] * 6 + [1] * 6 + [0] * 3)
    embeddings = centres[labels] + 0.05 * rng.standard_normal((len(labels), 3))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    found = cluster(embeddings, DiarizationConfig())
    assert len(set(found)) == 2 and (found == found[0]).sum() == 9
    assert set(cluster(embeddings, DiarizationConfig(num_speakers=1))) == {0}
    sampled = cluster(embeddings, DiarizationConfig(max_windows=4))  # sample clustered, the rest assigned
    assert np.array_equal(sampled == sampled[0], found == found[0])
    windows = np.stack([np.arange(15) * 0.5, np.arange(15) * 0.5 + 1.6], axis=1)
    turns, speakers = turns_from_windows(np.array([[0.0, 8.6]]), windows, found, min_turn=0.5)
    assert speakers == ["SPEAKER_1", "SPEAKER_2", "SPEAKER_1"]
    assert turns[0, 0] == 0.0 and turns[-1, 1] == 8.6 and np.all(turns[1:, 0] == turns[:-1, 1])


def test_config_checks():
    with pytest.raises(ValueError, match="backend must be one of"):
        DiarizationConfig(backend="nemo")
    with pytest.raises(ValueError, match="num_speakers must be >= 1"):
        DiarizationConfig(num_speakers=0)
    with pytest.raises(ValueError, match="vad must be one of"):
        SegmentationConfig(vad="webrtc")


def test_pyannote_backend_without_pyannote_is_a_clear_counted_fallback(tmp_path):
    pytest.importorskip("numpy")
    try:
        import pyannote.audio  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("pyannote.audio is installed here")
    config = DiarizationConfig(backend="pyannote")
    with pytest.raises(DiarizationUnavailable, match="needs pyannote.audio"):
        diarize(tmp_path / "x.wav", np.zeros((0, 2)), None, config)
    path = write_clip(tmp_path / "tone.wav", audio=np.full(16000 * 2, 0.1, np.float32), sample_rate=16000)
    rows = pd.DataFrame({"utterance_id": ["0", "1"], "speaker": ["unknown", "Ross"], "text": "",
                         "start": [0.0, 1.0], "end": [1.0, 2.0]})
    named, outcomes, notes = attribute_speakers(rows, probe_media(path), config, speech=True, dialogue="d")
    assert named["speaker"].tolist() == ["unknown", "Ross"]
    assert named["speaker_status"].tolist() == ["diarization_unavailable", "ok"]
    assert named["speaker_source"].tolist() == ["none", "transcript"]
    assert outcomes.counts() == {"diarization_unavailable": 1, "ok": 1} and "pyannote" in notes["unavailable"]
    off, outcomes, _ = attribute_speakers(rows, probe_media(path), DiarizationConfig(enabled=False),
                                          speech=True, dialogue="d")
    assert off["speaker_status"].tolist() == ["diarization_off", "ok"]


# --- the real conversation (../shared/data/conversation) ---------------------------------------------------


@pytest.fixture
def conversation(shared_data):
    folder = shared_data / "conversation"
    if not (folder / "sample.wav").is_file():
        pytest.skip(f"{folder}/sample.wav is absent")
    return folder


def test_silero_and_energy_find_the_speech_of_the_real_conversation(conversation):
    info = probe_media(conversation / "sample.wav")
    reference = read_rttm(conversation / "sample.rttm")[0]
    for vad in ("silero", "energy"):
        found = segment_media(info, SegmentationConfig(vad=vad), progress=False)
        assert found.vad == vad and found.method == "vad"
        assert speech_f1(reference, found.segments, info.duration)["f1"] > 0.95


def test_diarization_of_the_real_conversation_with_two_speakers_given(conversation):
    wav = conversation / "sample.wav"
    info = probe_media(wav)
    reference = read_rttm(conversation / "sample.rttm")
    regions = segment_media(info, SegmentationConfig(), progress=False).segments
    found = diarize(wav, regions, info.duration, DiarizationConfig(num_speakers=2))
    assert found.num_speakers == 2
    der = diarization_error_rate(reference, (found.turns, found.speakers), info.duration, collar=0.25)
    assert der["der"] <= 0.20  # BENCHMARKS.md has the measured figure
    # Counted, the two voices of this narrow-band call are too alike for the settings chosen on the
    # development set: one speaker (BENCHMARKS.md, "Who spoke").
    assert diarize(wav, regions, info.duration, DiarizationConfig()).num_speakers == 1


def test_an_audio_only_recording_is_predicted_with_diarized_speakers(conversation):
    talk = from_video(conversation / "sample.wav", diarization=DiarizationConfig(num_speakers=2),
                      progress=False)
    table = talk.table
    assert talk.notes["has_video"] is False and talk.notes["segmentation"]["vad"] == "silero"
    assert set(table["speaker"]) == {"SPEAKER_1", "SPEAKER_2"}
    assert (table["speaker_source"] == "diarization").all()
    assert sorted(table["party"].unique()) == [0, 1]  # the party index follows the voices
    assert talk.speakers.counts() == {"ok": len(table)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_der_agrees_with_pyannote_metrics(conversation, seed):
    core = pytest.importorskip("pyannote.core")
    metrics = pytest.importorskip("pyannote.metrics.diarization")

    def annotation(turns, speakers):
        out = core.Annotation()
        for (start, end), speaker in zip(turns, speakers):
            out[core.Segment(start, end), out.new_track(core.Segment(start, end))] = speaker
        return out

    reference = read_rttm(conversation / "sample.rttm")
    rng = np.random.default_rng(seed)
    cuts = np.sort(rng.uniform(5, 30, size=13))
    turns = np.concatenate([np.stack([cuts[:-1], cuts[1:] - 0.05], 1), [[9.0, 10.5]]])  # one overlap
    speakers = [*rng.choice(["a", "b", "c"], size=12), "d"]
    for collar in (0.0, 0.25, 0.5):
        theirs = metrics.DiarizationErrorRate(collar=collar, skip_overlap=False)(
            annotation(*reference), annotation(turns, speakers), uem=core.Segment(0, 30))
        ours = diarization_error_rate(reference, (turns, speakers), 30.0, collar=collar)["der"]
        assert ours == pytest.approx(theirs, abs=0.003)  # our 10 ms grid against exact segment arithmetic
