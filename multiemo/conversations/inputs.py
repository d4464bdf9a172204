"""What is predicted: a video with a subtitle transcript, a video alone, or a manifest CSV of clips.

Each becomes a :class:`Conversation`: an utterance table (the contract of :mod:`multiemo.corpora.table`,
one dialogue per video) plus the outcome of every fallback met while reading the input.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from multiemo.conversations.asr import AsrConfig, AsrUnavailable, transcribe
from multiemo.conversations.diarization import DiarizationConfig, check_speaker_counts
from multiemo.conversations.segmentation import SegmentationConfig, probe_media, segment_media
from multiemo.conversations.speakers import attribute_speakers
from multiemo.conversations.transcripts import DROPPED, UNKNOWN_SPEAKER, fit_to_media, read_subtitles
from multiemo.corpora.manifest import read_manifest
from multiemo.corpora.table import build_table
from multiemo.errors import InputError
from multiemo.keys import utterance_key
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

#: Input statuses of the segments of a recording without transcript (each counted).
NO_SPEECH = "no_speech"  # no voiced frame: fixed windows instead
NO_AUDIO = "no_audio"  # no audio stream: fixed windows instead
VAD_FALLBACK = "vad_fallback"  # silero-vad unavailable: the energy detector cut the speech
#: Text statuses of utterances of a recording without transcript when speech recognition is asked for.
ASR = "asr"
ASR_UNAVAILABLE = "asr_unavailable"


@dataclass
class Conversation:
    """Utterances to predict.

    Attributes:
        table: utterance table (dialogue_id, utterance_id, position, speaker, party, ..., media, start, end).
        has_text: whether the utterances come with a transcript (False: the text modality is missing).
        outcomes: stage ``input``; one status per input unit (cue, segment, manifest row): ``ok`` or a
            fallback word, dropped cues included (they are not in ``table``).
        notes: facts about the input (source files, duration, encoding, segmentation method and reason).
        speakers: stage ``speaker``; one status per utterance: ``ok`` or a fallback of speaker attribution
            (None: the speakers come from the input itself, e.g. a manifest).
        text_status: ``asr`` when the text was recognised from speech, ``asr_unavailable`` when recognition
            was asked for but its model cannot be loaded; None otherwise.
    """

    table: pd.DataFrame
    has_text: bool
    outcomes: StageOutcomes
    notes: dict = field(default_factory=dict)
    speakers: StageOutcomes | None = None
    text_status: str | None = None


def from_video(
    video: str | os.PathLike,
    transcript: str | os.PathLike | None = None,
    *,
    segmentation: SegmentationConfig | None = None,
    diarization: DiarizationConfig | None = None,
    asr: AsrConfig | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> Conversation:
    """One conversation from a video (or an audio-only recording) and, optionally, its SRT/WebVTT transcript.

    Without a transcript, utterances are found by :func:`~multiemo.conversations.segmentation.segment_media`.
    Utterances that name no speaker get one from diarization (:mod:`multiemo.conversations.speakers`); the
    table's ``speaker_source`` and ``speaker_status`` columns say where each name comes from. Without a
    transcript and with ``asr.model`` set, speech recognition (:mod:`multiemo.conversations.asr`) gives the
    text.

    Raises:
        FileNotFoundError, ValueError: unreadable video or transcript (one message naming the file).
        ConfigError: diarization settings that contradict each other (before the media are read).
    """
    if diarization is not None:
        check_speaker_counts(diarization)
    info = probe_media(video)
    dialogue = Path(video).stem
    notes: dict = {"video": str(Path(video).resolve()), "duration": info.duration,
                   "has_audio": info.has_audio, "has_video": info.has_video}
    outcomes = StageOutcomes(stage="input")
    if transcript is not None:
        read = read_subtitles(transcript)
        notes.update(transcript=str(Path(transcript).resolve()), **read.notes)
        cues = fit_to_media(read.cues, info.duration)
        for cue in cues:
            outcomes.add(utterance_key(dialogue, cue.number), cue.status,
                       "" if cue.status == OK else f"cue {cue.number} (line {cue.line}): {cue.status}")
        cues = [c for c in cues if c.status not in DROPPED]
        rows = pd.DataFrame({
            "utterance_id": [str(c.number) for c in cues],
            "speaker": [c.speaker for c in cues],
            "text": [c.text for c in cues],
            "start": [c.start for c in cues],
            "end": [c.end for c in cues],
        })
        speech, segment_status, segment_reason = True, OK, ""
    else:
        config = segmentation or SegmentationConfig()
        found = segment_media(info, config, progress=progress)
        speech = found.method == "vad"
        segment_status, segment_reason = _segment_status(found, info.has_audio)
        notes["segmentation"] = {"method": found.method, "reason": found.reason,
                                 "split_long": found.split_long, "vad": found.vad,
                                 "vad_fallback": found.vad_fallback, "settings": asdict(config)}
        rows = pd.DataFrame({
            "utterance_id": [str(i) for i in range(len(found.segments))],
            "speaker": UNKNOWN_SPEAKER,
            "text": "",
            "start": found.segments[:, 0],
            "end": found.segments[:, 1],
        })
    rows, speakers, notes["diarization"] = attribute_speakers(
        rows, info, diarization or DiarizationConfig(), speech=speech, dialogue=dialogue, progress=progress)
    has_text, text_status = transcript is not None, None
    if transcript is None:  # the segments (possibly split into speaker turns) are the input units
        for uid in rows["utterance_id"]:
            outcomes.add(utterance_key(dialogue, uid), segment_status, segment_reason)
        asr = asr or AsrConfig()
        notes["asr"] = {**asdict(asr), "used": False}
        if asr.model is not None and info.has_audio and not rows.empty:
            rows, text_status, notes["asr"] = _recognise(rows, info.path, asr, device, progress)
            has_text = text_status == ASR
    if rows.empty:
        raise InputError(f"{video}: no utterance to predict (the video is shorter than one segment)")
    rows = rows.assign(dialogue_id=dialogue, label="", split="test", media=str(Path(video).resolve()),
                       face_side="")
    table = build_table(rows, order_by="start")
    log.info("%s: %d utterances; input %s; speakers %s", video, len(table), outcomes.counts(),
             speakers.counts())
    return Conversation(table=table, has_text=has_text, outcomes=outcomes, notes=notes, speakers=speakers,
                        text_status=text_status)


def _recognise(rows: pd.DataFrame, path: str, config: AsrConfig, device: str, progress: bool
               ) -> tuple[pd.DataFrame, str, dict]:
    """Rows with recognised text, the text status (``asr`` or ``asr_unavailable``) and notes for the JSON."""
    notes: dict = {**asdict(config), "used": True}
    try:
        texts, words = transcribe(path, rows[["start", "end"]].to_numpy(float), config, device=device,
                                  progress=progress)
    except AsrUnavailable as error:
        log.warning("%s; the text modality stays missing", error)
        notes["unavailable"] = str(error)
        return rows, ASR_UNAVAILABLE, notes
    if config.timestamps == "word":
        notes["words"] = dict(zip(rows["utterance_id"], words))
    log.info("speech recognition: %d utterances, %d with text", len(texts), sum(bool(t) for t in texts))
    return rows.assign(text=texts), ASR, notes


def _segment_status(found, has_audio: bool) -> tuple[str, str]:
    """Input status and message of every segment of a recording without transcript."""
    if found.method == "vad":
        return (VAD_FALLBACK, found.vad_fallback) if found.vad_fallback else (OK, "")
    if not has_audio:
        return NO_AUDIO, found.reason
    if found.reason.startswith("no speech"):
        return NO_SPEECH, found.reason
    return OK, ""  # fixed windows asked for


def from_manifest(path: str | os.PathLike) -> Conversation:
    """Conversations from a manifest CSV (``multiemo/corpora/MANIFEST.md``); ``label`` and ``split`` may be
    left out (they are not needed to predict). Utterances whose ``text`` is empty have no text feature."""
    corpus = read_manifest(path, defaults={"label": "", "split": "test"})
    table = corpus.table
    notes = {"manifest": str(Path(path).resolve()), "dialogues": int(table["dialogue_id"].nunique())}
    has_text = bool((table["text"].str.strip() != "").any())
    return Conversation(table=table, has_text=has_text, outcomes=corpus.outcomes, notes=notes)

