"""Speakers of utterances that have none: diarization names them, and says so in two columns.

Every utterance gets ``speaker_source`` (``transcript``: the cue named it; ``diarization``; ``none``) and
``speaker_status`` (``ok`` or a counted fallback):

* ``one_speaker``: diarization found a single voice in the whole recording (every utterance is its).
* ``diarization_unavailable``: the backend's package or model cannot be loaded (speaker ``unknown``).
* ``diarization_off``: ``diarization.enabled`` is false (speaker ``unknown``).
* ``no_speech``: no speech to embed (no audio stream, or no voice found: fixed windows) or no speaker turn
  overlaps the utterance (speaker ``unknown``).

Without a transcript the utterances are the diarization's turns: a voiced segment in which two people speak
becomes two utterances, so the model's party structure follows the voices. With a transcript, unnamed cues
take the speaker who talks most during them; when some cues are named, a diarized speaker who talks in
named cues takes the name given most often there.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict

import numpy as np
import pandas as pd

from multiemo.conversations.diarization import Diarization, DiarizationConfig, DiarizationUnavailable, diarize
from multiemo.conversations.segmentation import MediaInfo
from multiemo.conversations.transcripts import UNKNOWN_SPEAKER
from multiemo.keys import utterance_key
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

ONE_SPEAKER = "one_speaker"
UNAVAILABLE = "diarization_unavailable"
OFF = "diarization_off"
NO_SPEECH = "no_speech"


def attribute_speakers(rows: pd.DataFrame, info: MediaInfo, config: DiarizationConfig, *, speech: bool,
                       dialogue: str, progress: bool = False) -> tuple[pd.DataFrame, StageOutcomes, dict]:
    """Name the speakers of ``rows`` (utterance_id, speaker, text, start, end) that have none.

    Args:
        rows: utterances; ``speaker`` is ``unknown`` where none is known.
        info: the recording.
        config: diarization settings.
        speech: whether the rows are speech (False: fixed windows cut because no voice was found).
        dialogue: the dialogue id (for utterance keys).

    Returns:
        (rows with ``speaker``, ``speaker_source``, ``speaker_status``; the ``speaker`` stage outcomes;
        notes for the output JSON: the settings, backend, speakers found or why none).
    """
    rows = rows.reset_index(drop=True)
    unnamed = (rows["speaker"] == UNKNOWN_SPEAKER).to_numpy()
    notes: dict = {**asdict(config), "used": False}
    source = np.where(unnamed, "none", "transcript").astype(object)
    status = np.full(len(rows), OK, dtype=object)
    message = ""
    if not unnamed.any() or rows.empty:
        pass
    elif not config.enabled:
        status[unnamed], message = OFF, "diarization.enabled is false"
    elif not info.has_audio or not speech:
        status[unnamed] = NO_SPEECH
        message = "no audio stream" if not info.has_audio else "no speech found in the audio"
    else:
        try:
            found = diarize(info.path, rows[["start", "end"]].to_numpy(float), info.duration, config,
                            progress=progress)
        except DiarizationUnavailable as error:
            log.warning("%s; speakers stay unknown", error)
            status[unnamed], message = UNAVAILABLE, str(error)
            notes["unavailable"] = message
        else:
            notes.update(used=True, backend_used=found.backend, speakers_found=found.num_speakers)
            if unnamed.all() and len(found.turns):
                rows = _turns_as_utterances(rows, found)
                unnamed = np.ones(len(rows), bool)
                source, status = np.full(len(rows), "diarization", object), np.full(len(rows), OK, object)
            else:
                rows, source, status = _name_cues(rows, unnamed, found, source, status)
            if found.num_speakers == 1:
                status[unnamed & (source == "diarization")] = ONE_SPEAKER
                message = "diarization found one speaker in the whole recording"
                log.warning("%s: %s", info.path, message)
    rows = rows.assign(speaker_source=source, speaker_status=status)
    outcomes = StageOutcomes(stage="speaker")
    for uid, state in zip(rows["utterance_id"], status):
        outcomes.add(utterance_key(dialogue, uid), state, "" if state == OK else message)
    return rows, outcomes, notes


def _turns_as_utterances(rows: pd.DataFrame, found: Diarization) -> pd.DataFrame:
    """One utterance per speaker turn (the voiced segments were the turns' regions)."""
    return pd.DataFrame({
        "utterance_id": [str(i) for i in range(len(found.turns))],
        "speaker": found.speakers,
        "text": "",
        "start": found.turns[:, 0],
        "end": found.turns[:, 1],
    })


def _name_cues(rows: pd.DataFrame, unnamed: np.ndarray, found: Diarization, source: np.ndarray,
               status: np.ndarray) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Unnamed cues take the diarized speaker talking most in them, renamed after the transcript's names."""
    spans = rows[["start", "end"]].to_numpy(float)
    diarized = [found.speaker_of(a, b) for a, b in spans]
    votes: dict[str, Counter] = {}
    for name, who, is_unnamed in zip(rows["speaker"], diarized, unnamed):
        if who is not None and not is_unnamed:
            votes.setdefault(who, Counter())[name] += 1
    rename = {who: counter.most_common(1)[0][0] for who, counter in votes.items()}
    speakers = rows["speaker"].to_numpy(dtype=object).copy()
    for i in np.flatnonzero(unnamed):
        if diarized[i] is None:
            status[i] = NO_SPEECH
            continue
        speakers[i], source[i] = rename.get(diarized[i], diarized[i]), "diarization"
    return rows.assign(speaker=speakers), source, status
