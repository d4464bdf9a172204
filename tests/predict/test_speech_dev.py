"""Voice activity and diarization on the real development recordings (``../shared/data/meetings`` and
``conversation``), through the same code ``multiemo predict`` runs; the figures of the whole set are in
BENCHMARKS.md (``benchmarks/diarization_dev.py``)."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmarks.speech_dev.cache import one_speaker_cut
from benchmarks.speech_dev.scoring import Recording, score_set
from benchmarks.speech_metrics import read_rttm
from multiemo.cli import main
from multiemo.conversations.inputs import from_video
from multiemo.conversations.segmentation import SegmentationConfig, probe_media, segment_media

#: The development recording run through ``multiemo predict`` and its DER bound (overlap not scored, collar
#: 0.5 s). BENCHMARKS.md has the measured value (in-sample: the defaults were chosen on this set).
PREDICTED, DER_BOUND = "meetings/ami_dev_trn04", 0.15


@pytest.fixture
def meetings(shared_data):
    folder = shared_data / "meetings"
    if not (folder / "ami_dev_trn04.wav").is_file():
        pytest.skip(f"{folder} holds no AMI development excerpts")
    return folder


def test_a_development_recording_through_multiemo_predict_meets_its_der_bound(trained_run, shared_data,
                                                                             meetings, tmp_path):
    wav = shared_data / f"{PREDICTED}.wav"
    out = tmp_path / "out"
    assert main(["--quiet", "predict", "--run", str(trained_run), "--video", str(wav), "--out", str(out),
                 "--device", "cpu"]) == 0
    table = pd.read_csv(out / "predictions.csv")
    hypothesis = (table[["start", "end"]].to_numpy(float), table["speaker"].astype(str).tolist())
    scored = score_set([Recording(PREDICTED, read_rttm(wav.with_suffix(".rttm")), hypothesis)])["total"]
    assert scored["der_no_overlap"] <= DER_BOUND, scored
    assert scored["der_no_overlap"] < scored["baseline_no_overlap"]  # better than no diarization at all


def test_a_real_one_speaker_recording_is_one_speaker(shared_data, meetings, tmp_path):
    _, wav, _ = one_speaker_cut(shared_data, tmp_path)
    talk = from_video(wav, progress=False)
    table = talk.table
    assert len(table) >= 1 and set(table["speaker"]) == {"SPEAKER_1"}
    assert set(table["speaker_status"]) == {"one_speaker"}
    assert talk.notes["diarization"]["speakers_found"] == 1


def test_fixed_windows_never_leave_an_utterance_shorter_than_the_minimum(meetings):
    info = probe_media(meetings / "ami_dev_trn01.wav")
    assert info.duration == pytest.approx(30.0000625)  # 480001 samples: one past 30 s
    config = SegmentationConfig(method="fixed")
    found = segment_media(info, config, progress=False)
    lengths = found.segments[:, 1] - found.segments[:, 0]
    assert len(found.segments) == 6 and lengths.min() >= config.min_speech
    assert found.segments[-1, 1] == pytest.approx(info.duration)
