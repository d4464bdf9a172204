"""A recording becomes an utterance table, as a corpus does in :mod:`multiemo.corpora`.

A video with SRT/WebVTT subtitles, a video or audio recording alone, or a manifest CSV of clips becomes a
:class:`Conversation` (:mod:`multiemo.conversations.inputs`). Without subtitles the speech is found by voice
activity (:mod:`~multiemo.conversations.vad`, :mod:`~multiemo.conversations.segmentation`), speakers no
transcript names come from diarization (:mod:`~multiemo.conversations.speakers`,
:mod:`~multiemo.conversations.diarization`), and the text from speech recognition when asked for
(:mod:`~multiemo.conversations.asr`). Nothing here knows about models or features: prediction builds on it.
"""

from multiemo.conversations.asr import AsrConfig
from multiemo.conversations.diarization import DiarizationConfig
from multiemo.conversations.inputs import Conversation, from_manifest, from_video
from multiemo.conversations.segmentation import SegmentationConfig

__all__ = [
    "AsrConfig",
    "Conversation",
    "DiarizationConfig",
    "SegmentationConfig",
    "from_manifest",
    "from_video",
]
