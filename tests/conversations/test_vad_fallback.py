"""Without silero-vad, a recording without transcript is cut by the energy detector, and every utterance
says so: input status ``vad_fallback`` with the reason, counted, and in the notes."""

from __future__ import annotations

import sys

import pytest

from multiemo.conversations.diarization import DiarizationConfig
from multiemo.conversations.inputs import VAD_FALLBACK, from_video
from multiemo.conversations.segmentation import SegmentationConfig
from multiemo.conversations.vad import load_silero
from tests.conversations.conftest import TALK

NO_DIARIZATION = DiarizationConfig(enabled=False)  # segmentation is under test, not speakers
# The generated talk's spans are 0.6 s apart: the default pause bridging (1.0 s, chosen on real meetings)
# would join them, so pauses of 0.4 s split here, without padding.
SPLIT_PAUSES = SegmentationConfig(min_silence=0.4, speech_pad=0.0)


@pytest.fixture
def no_silero(monkeypatch):
    """silero-vad as if not installed: importing it raises ImportError (the loaded model is forgotten)."""
    load_silero.cache_clear()
    monkeypatch.setitem(sys.modules, "silero_vad", None)
    yield
    monkeypatch.undo()
    load_silero.cache_clear()


def test_without_silero_the_energy_detector_cuts_and_every_utterance_says_so(talk, no_silero):
    conversation = from_video(talk["video"], None, segmentation=SPLIT_PAUSES, diarization=NO_DIARIZATION,
                              progress=False)
    segmentation = conversation.notes["segmentation"]
    assert segmentation["method"] == "vad" and segmentation["vad"] == "energy"
    assert "silero-vad is not installed" in segmentation["vad_fallback"]
    table = conversation.table
    assert len(table) == len(TALK)  # the three spoken spans, found by their energy
    for (start, end, *_), (_, row) in zip(TALK, table.iterrows()):
        assert abs(row["start"] - start) < 0.15 and abs(row["end"] - end) < 0.15
    assert conversation.outcomes.counts() == {VAD_FALLBACK: len(TALK)}
    reasons = {conversation.outcomes.messages[key] for key in conversation.outcomes.statuses}
    assert len(reasons) == 1 and "silero-vad is not installed" in reasons.pop()


def test_with_silero_the_same_recording_is_not_a_fallback(talk):
    conversation = from_video(talk["video"], None, diarization=NO_DIARIZATION, progress=False)
    assert conversation.notes["segmentation"]["vad"] == "silero"
    assert conversation.notes["segmentation"]["vad_fallback"] is None
    assert VAD_FALLBACK not in conversation.outcomes.counts()
