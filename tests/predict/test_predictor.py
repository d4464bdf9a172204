"""End to end: a generated video with speech, a face and subtitles, predicted by a run trained on a corpus."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from multiemo.conversations.inputs import from_manifest, from_video
from multiemo.conversations.segmentation import SegmentationConfig
from multiemo.predict import Predictor, predict
from multiemo.predict.outputs import write_predictions
from multiemo.predict.settings import ProvenanceMismatch
from tests.clips import write_clip
from tests.conversations.conftest import FPS, SR, TALK, stamp, talk_audio

LABELS = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]


@pytest.fixture(scope="module")
def predictor(trained_run):
    return Predictor(trained_run, device="cpu", progress=False)


def test_video_with_subtitles(trained_run, talk, tmp_path):
    result = predict(trained_run, tmp_path / "out", video=talk["video"], transcript=talk["srt"],
                     progress=False)
    table = pd.read_csv(tmp_path / "out" / "predictions.csv", keep_default_na=False)
    assert len(table) == len(TALK)
    assert table["speaker"].tolist() == [who for *_, who, _ in TALK]
    assert table["text"].tolist() == [text for *_, text in TALK]
    np.testing.assert_allclose(table[["start", "end"]].to_numpy(), [(a, b) for a, b, *_ in TALK])
    probs = table[[f"p_{label}" for label in LABELS]].to_numpy()
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)
    assert (table["emotion"] == [LABELS[i] for i in probs.argmax(1)]).all()
    # Real speech and the astronaut's real face: every modality is found for every utterance.
    assert (table["modalities"] == "text+audio+visual").all()
    document = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert document["labels"] == LABELS and len(document["utterances"]) == len(TALK)
    first = document["utterances"][0]
    assert first["modalities"]["visual"] == {"present": True, "status": "ok"}
    assert first["start"] == 0.5 and set(first["probabilities"]) == set(LABELS)
    assert document["counts"]["input"] == {"ok": 3} and document["format"] == "srt"
    assert (tmp_path / "out" / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert result.info["device"] == "cpu" and result.info["best_epoch"] >= 1
    # Calibrated by the run's temperature; the threshold and the flags are in the CSV and the JSON.
    calibration = json.loads((trained_run / "calibration.json").read_text())
    assert document["calibration"] == calibration and calibration["method"] == "temperature"
    assert (table["low_confidence"] == (table["confidence"] < 0.5)).all()
    assert document["low_confidence"] == {"threshold": 0.5, "utterances": int(table["low_confidence"].sum())}
    assert [u["low_confidence"] for u in document["utterances"]] == table["low_confidence"].tolist()
    page = (tmp_path / "out" / "predictions.html").read_text()
    assert page.count('"speaker":') == len(TALK) and "talk.mp4" in page


def test_calibration_divides_the_logits_and_changes_no_emotion(trained_run, talk):
    conversation = from_video(talk["video"], talk["srt"], progress=False)
    temperature = json.loads((trained_run / "calibration.json").read_text())["temperature"]
    calibrated = Predictor(trained_run, device="cpu", progress=False).predict(conversation)
    raw = Predictor(trained_run, device="cpu", calibration=None, progress=False).predict(conversation)
    assert raw.info["calibration"]["method"] == "none" and "uncalibrated" in raw.info["calibration"]["note"]
    assert calibrated.table["emotion"].tolist() == raw.table["emotion"].tolist()
    columns = [f"p_{label}" for label in LABELS]
    log_p = np.log(raw.table[columns].to_numpy(dtype=np.float64)) / temperature
    expected = np.exp(log_p - log_p.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(calibrated.table[columns].to_numpy(), expected, atol=2e-5)
    # A calibration given as a mapping (as an export carries it) is used as given.
    given = Predictor(trained_run, device="cpu", progress=False,
                      calibration={"method": "temperature", "temperature": 1.0}).predict(conversation)
    np.testing.assert_allclose(given.table[columns].to_numpy(), raw.table[columns].to_numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="'temperature' must be a positive number"):
        Predictor(trained_run, progress=False, calibration={"method": "temperature", "temperature": 0})
    with pytest.raises(ValueError, match="low_confidence must be a probability"):
        Predictor(trained_run, progress=False, low_confidence=1.5)


def test_without_transcript_audio_and_faces_only(predictor, talk):
    # The energy rule cuts the generated talk at its digital silences; it pauses 0.6 s between utterances,
    # which the default bridging (1.0 s, chosen on meetings) would join.
    segmentation = SegmentationConfig(vad="energy", min_silence=0.4, speech_pad=0.0)
    result = predictor.predict(from_video(talk["video"], segmentation=segmentation, progress=False))
    table = result.table
    # the same voice speaks all three: diarization names one speaker, a counted fallback
    assert len(table) == len(TALK) and (table["speaker"] == "SPEAKER_1").all()
    assert (table["speaker_source"] == "diarization").all() and result.counts["speaker"] == {"one_speaker": 3}
    assert (table["modalities"] == "audio+visual").all()
    assert (table["text_status"] == "no_transcript").all() and not table["text_present"].any()
    assert result.info["segmentation"]["method"] == "vad"
    assert result.counts["text"] == {"no_transcript": 3}


def test_fallbacks_are_counted_and_visible_per_utterance(predictor, talk, tmp_path):
    cues = [(0.5, 2.0, "Ross: hi"), (1.8, 4.1, ""), (4.7, 9.5, "Ross: bye"), (8.0, 9.0, "Ross: gone")]
    srt = tmp_path / "messy.srt"
    srt.write_bytes("\n".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{t}\n" for i, (a, b, t) in enumerate(cues, 1))
                    .replace("bye", "b\xe9").encode("cp1252"))
    result = predictor.predict(from_video(talk["video"], srt, progress=False))
    table = result.table
    assert table["input_status"].tolist() == ["overlap_trimmed", "empty_text", "end_clipped"]
    assert result.counts["input"] == {"overlap_trimmed": 1, "empty_text": 1, "end_clipped": 1,
                                      "beyond_end": 1}
    assert table["modalities"].tolist() == ["text+audio+visual", "audio+visual", "text+audio+visual"]
    assert table["text"].tolist()[2] == "bé" and result.info["encoding"] == "cp1252"
    write_predictions(tmp_path / "out", result)
    assert json.loads((tmp_path / "out" / "predictions.json").read_text())["encoding_fallback"]


def test_manifest_of_clips_without_labels_or_splits(predictor, talk, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    blank = write_clip(clips / "blank.mp4", frames=np.full((FPS, 240, 320, 3), 90, np.uint8), fps=FPS,
                       audio=talk_audio(1.0, [(0.0, 1.0)]), sample_rate=SR)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "dialogue_id,utterance_id,speaker,text,media,start,end\n"
        f"call,0,Agent,How can I help?,{talk['video']},0.5,2.0\n"
        f"call,1,Client,It broke.,clips/{blank.name},,\n"
        "call,2,Agent,Oh no.,clips/missing.mp4,,\n", encoding="utf-8")
    result = predictor.predict(from_manifest(manifest))
    table = result.table
    assert table["modalities"].tolist() == ["text+audio+visual", "text+audio", "text"]
    assert table["visual_status"].tolist() == ["ok", "no_face", "missing_file"]
    assert np.isnan(table["start"].iloc[1])
    write_predictions(tmp_path / "out", result)  # clips without times are drawn by position
    assert (tmp_path / "out" / "timeline.png").stat().st_size > 0
    page = (tmp_path / "out" / "predictions.html").read_text()
    assert "manifest.csv" in page and '"media": null' in page  # clips of their own: a timeline, no player


def test_bad_inputs_fail_with_one_clear_message(trained_run, talk, tmp_path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(2048))
    with pytest.raises(ValueError, match="broken.mp4 cannot be read"):
        from_video(broken, talk["srt"])
    with pytest.raises(FileNotFoundError, match="holds no finished epoch"):
        Predictor(tmp_path, progress=False)
    with pytest.raises(ValueError, match="window - 2 \\* context >= 1"):
        Predictor(trained_run, window=4, context=2, progress=False)
    with pytest.raises(ProvenanceMismatch, match="^visual.num_frames"):
        Predictor(trained_run, overrides={"visual": {"num_frames": 8}}, progress=False)
    late = tmp_path / "late.srt"
    late.write_text(f"1\n{stamp(60)} --> {stamp(61)}\nToo late\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no subtitle cue starts within the video's 7.0 s"):
        from_video(talk["video"], late)
    with pytest.raises(ValueError, match="either a video"):
        predict(trained_run, tmp_path, video=None, manifest=None)


def test_checkpoint_of_another_model_version_is_a_clear_error(trained_run, tmp_path):
    old = shutil.copytree(trained_run, tmp_path / "old_run")
    checkpoint = torch.load(old / "best.pt", weights_only=False)
    checkpoint["model"]["context.legacy_weight"] = torch.zeros(1)
    torch.save(checkpoint, old / "best.pt")
    with pytest.raises(ValueError, match="cannot be loaded by this version.*legacy_weight.*retrain the run"):
        Predictor(old, progress=False)


def test_speech_recognition_fills_the_text_modality_with_status_asr(predictor, talk, tmp_path):
    from multiemo.conversations.asr import AsrConfig
    from tests.conversations.tiny_whisper import build_tiny_whisper

    energy = SegmentationConfig(vad="energy")  # cuts the generated talk at its digital silences (see above)
    whisper = build_tiny_whisper(tmp_path / "whisper")
    result = predictor.predict(from_video(talk["video"], segmentation=energy,
                                          asr=AsrConfig(model=str(whisper), max_new_tokens=4),
                                          progress=False))
    table = result.table
    used = table["text_present"].to_numpy()
    assert used.any() and set(table.loc[used, "text_status"]) == {"asr"}
    assert result.counts["text"].get("asr") == int(used.sum()) and result.info["asr"]["model"] == str(whisper)
    gone = predictor.predict(from_video(talk["video"], segmentation=energy,
                                        asr=AsrConfig(model=str(tmp_path / "absent")), progress=False))
    assert (gone.table["text_status"] == "asr_unavailable").all() and not gone.table["text_present"].any()
    assert gone.counts["text"] == {"asr_unavailable": len(gone.table)}
