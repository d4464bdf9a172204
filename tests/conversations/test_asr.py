"""Speech recognition fills the text of a recording without transcript (a tiny random Whisper built
offline)."""

from __future__ import annotations

import numpy as np
import pytest

from multiemo.conversations.asr import AsrConfig, AsrUnavailable, load_asr, transcribe
from multiemo.conversations.inputs import from_video
from tests.clips import write_clip
from tests.conversations.tiny_whisper import build_tiny_whisper


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    return build_tiny_whisper(tmp_path_factory.mktemp("whisper") / "tiny")


def test_each_span_is_transcribed_from_the_stream(tiny_whisper, tmp_path):
    rng = np.random.default_rng(0)
    path = write_clip(tmp_path / "a.wav", audio=(0.1 * rng.standard_normal(16000 * 4)).astype(np.float32),
                      sample_rate=16000)
    spans = np.array([[0.0, 1.0], [1.5, 3.0], [3.2, 4.0]])
    config = AsrConfig(model=str(tiny_whisper), batch_size=2, max_new_tokens=6)
    texts, words = transcribe(path, spans, config)
    assert len(texts) == 3 and all(isinstance(t, str) for t in texts) and words == [[], [], []]
    assert any(texts)  # random weights still decode some bytes
    again, _ = transcribe(path, spans, config, recogniser=load_asr(config))
    assert again == texts  # greedy decoding is deterministic


def test_a_model_that_cannot_be_loaded_is_unavailable(tmp_path):
    with pytest.raises(AsrUnavailable, match="cannot be loaded"):
        load_asr(AsrConfig(model=str(tmp_path / "no-such-whisper")))
    with pytest.raises(ValueError, match="timestamps must be one of"):
        AsrConfig(timestamps="char")


def test_recognised_text_fills_the_conversation_with_status(tiny_whisper, shared_data):
    wav = shared_data / "conversation" / "sample.wav"
    if not wav.is_file():
        pytest.skip(f"{wav} is absent")
    talk = from_video(wav, asr=AsrConfig(model=str(tiny_whisper), max_new_tokens=4), progress=False)
    assert talk.has_text and talk.text_status == "asr" and talk.notes["asr"]["model"] == str(tiny_whisper)
    assert (talk.table["text"] != "").any()
    missing = from_video(wav, asr=AsrConfig(model=str(wav.parent / "absent")), progress=False)
    assert not missing.has_text and missing.text_status == "asr_unavailable"
    assert "absent" in missing.notes["asr"]["unavailable"]
    plain = from_video(wav, progress=False)  # no ASR model: text stays missing as before
    assert not plain.has_text and plain.text_status is None
    # every setting of the no-transcript path is recorded (the output JSON holds these notes)
    assert plain.notes["asr"] == {**AsrConfig().__dict__, "used": False}
    assert plain.notes["segmentation"]["settings"]["vad"] == "silero" and plain.notes["diarization"]["used"]
