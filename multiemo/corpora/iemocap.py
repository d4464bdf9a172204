"""Reader for the IEMOCAP full release (Busso et al., 2008): five sessions of dyadic dialogues.

Layout under ``root`` (``N`` = 1..5)::

    SessionN/dialog/EmoEvaluation/<dialog>.txt
        "[6.2901 - 8.2357]\\tSes01F_impro01_F000\\tneu\\t[2.5, 2.5, 2.5]"
    SessionN/dialog/transcriptions/<dialog>.txt   "Ses01F_impro01_F000 [006.2901-008.2357]: Excuse me."
    SessionN/dialog/avi/DivX/<dialog>.avi         the dialogue video (both actors, with sound)

Choices, all documented in the table:

* ``dialogue_id`` = the dialog name (``Ses01F_impro01``), ``utterance_id`` = the full turn name
  (``Ses01F_impro01_F000``, as in the release's sentence wav files), ordered by start time.
* ``speaker`` = the turn's gender letter (``F``/``M``, after the last underscore); each dialogue has two
  parties.
* ``media`` = the dialogue avi with ``start``/``end`` from EmoEvaluation, so audio and faces come from one
  file (the sentence wavs are the same audio cut by the release). Missing avi → status ``missing_file``, kept.
* ``face_side``: the avi shows the two actors side by side. In dialog ``SesNNX_...`` the actor of gender ``X``
  wears the motion-capture markers ("marked"); by default the marked actor is taken to sit on the left half
  and the other on the right (``{"marked": "left", "unmarked": "right"}``). This could not be checked against
  the videos here: look at one frame and pass ``face_sides`` if your copy differs ("" disables the crop).
* Labels: EmoEvaluation's majority code; utterances whose code is not in ``labels`` (``xxx``, ``oth``,
  ``sur``, ``fea``, ``dis`` by default) are dropped from the table and counted as ``label_excluded``.
* Splits: dialogues of ``test_sessions`` → test; of the rest, ``round(validation_fraction · n)`` (at least
  one) chosen by :func:`~multiemo.corpora.table.seeded_validation` (sorted names, seeded) → validation; others
  → train.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from multiemo.corpora.corpus import Corpus
from multiemo.corpora.fields import clean_text, read_text_file
from multiemo.corpora.table import FACE_SIDES, build_table, seeded_validation
from multiemo.errors import InputError
from multiemo.keys import utterance_key
from multiemo.outcomes import OK, StageOutcomes

log = logging.getLogger(__name__)

#: IEMOCAP's emotion codes → canonical label names.
IEMOCAP_NAMES: dict[str, str] = {
    "hap": "happiness",
    "sad": "sadness",
    "neu": "neutral",
    "ang": "anger",
    "exc": "excitement",
    "fru": "frustration",
    "sur": "surprise",
    "fea": "fear",
    "dis": "disgust",
    "oth": "other",
    "xxx": "no_agreement",
}
#: The six classes of MultiEMO and most IEMOCAP ERC papers, in index order.
IEMOCAP_SIX: tuple[str, ...] = ("hap", "sad", "neu", "ang", "exc", "fru")
DEFAULT_FACE_SIDES: dict[str, str] = {"marked": "left", "unmarked": "right"}

_EVALUATION = re.compile(r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[")
_TRANSCRIPT = re.compile(r"^(\S+)\s*\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s*:\s?(.*)$")
_DIALOG = re.compile(r"^Ses(\d+)([FM])_")
_TURN = re.compile(r"_([FM])\d+$")


def read_iemocap(
    root: str | os.PathLike,
    *,
    test_sessions: Sequence[int] = (5,),
    labels: Sequence[str] | Mapping[str, str] = IEMOCAP_SIX,
    validation_fraction: float = 0.1,
    seed: int = 0,
    require_media: bool = True,
    face_sides: Mapping[str, str] = DEFAULT_FACE_SIDES,
) -> Corpus:
    """Read the IEMOCAP release into one utterance table.

    Args:
        root: the ``IEMOCAP_full_release`` folder holding ``Session1`` .. ``Session5``.
        test_sessions: session numbers whose dialogues form the test split.
        labels: IEMOCAP codes to keep, in index order (names from :data:`IEMOCAP_NAMES`), or a mapping
            code → label name to merge classes (e.g. ``{"hap": "happiness", "exc": "happiness", ...}``).
        validation_fraction: share of the non-test dialogues held out for validation (model selection).
        seed: seed of that choice.
        require_media: False for a text-only corpus (``media`` = "", no avi needed or checked).
        face_sides: ``{"marked": side, "unmarked": side}``, sides from ``"left"``, ``"right"``, ``""``.

    Returns:
        A :class:`Corpus`; labels are the canonical names in the order given.

    Raises:
        ValueError: no sessions, unknown label code, bad arguments, or an unparsable annotation line
            (the message names the file and line).
    """
    root = Path(root).expanduser().resolve()
    codes = (
        dict(labels)
        if isinstance(labels, Mapping)
        else {code: IEMOCAP_NAMES.get(code, "") for code in labels}
    )
    unknown = [code for code, name in codes.items() if code not in IEMOCAP_NAMES or not name]
    if unknown or not codes:
        raise InputError(
            f"unknown IEMOCAP label codes {unknown or list(codes)}; codes are {list(IEMOCAP_NAMES)}"
        )
    if set(face_sides) != {"marked", "unmarked"} or not set(face_sides.values()) <= set(FACE_SIDES):
        raise InputError(
            f"face_sides must map 'marked' and 'unmarked' to one of {list(FACE_SIDES)}, got {face_sides}"
        )
    if not 0.0 <= validation_fraction < 1.0:
        raise InputError(f"validation_fraction must be in [0, 1), got {validation_fraction}")
    sessions = sorted(p for p in root.glob("Session*") if p.is_dir() and p.name[7:].isdigit())
    if not sessions:
        raise InputError(f"{root}: no Session1..Session5 folders; point root at IEMOCAP_full_release")
    numbers = {int(p.name[7:]) for p in sessions}
    if not set(test_sessions) <= numbers:
        raise InputError(f"test sessions {sorted(set(test_sessions) - numbers)} not found under {root}")
    outcomes = StageOutcomes(stage="corpus")
    frames = [
        _read_dialog(path, codes, require_media, face_sides, outcomes)
        for session in sessions
        for path in sorted((session / "dialog" / "EmoEvaluation").glob("Ses*.txt"))
    ]
    frames = [f for f in frames if len(f)]
    if not frames:
        raise InputError(f"{root}: no labelled utterances in Session*/dialog/EmoEvaluation/*.txt")
    rows = pd.concat(frames, ignore_index=True)
    rows["split"] = _splits(rows, set(test_sessions), validation_fraction, seed)
    table = build_table(rows, order_by=["turn_start", "utterance_id"])
    label_names = list(dict.fromkeys(codes.values()))
    log.info(
        "IEMOCAP: %d utterances in %d dialogues from %s; %s",
        len(table),
        table["dialogue_id"].nunique(),
        root,
        outcomes.counts(),
    )
    return Corpus(table=table, labels=label_names, outcomes=outcomes)


def _read_dialog(
    evaluation: Path,
    codes: dict[str, str],
    require_media: bool,
    face_sides: Mapping[str, str],
    outcomes: StageOutcomes,
) -> pd.DataFrame:
    dialog = evaluation.stem
    tag = _DIALOG.match(dialog)
    if tag is None:
        raise InputError(f"{evaluation}: file name is not an IEMOCAP dialog name like Ses01F_impro01.txt")
    session, marked = int(tag.group(1)), tag.group(2)
    dialog_dir = evaluation.parent.parent
    texts = _transcripts(dialog_dir / "transcriptions" / f"{dialog}.txt")
    video = dialog_dir / "avi" / "DivX" / f"{dialog}.avi"
    media_status = OK
    if require_media and not video.is_file():
        media_status = "missing_file"
    records = []
    for number, line in enumerate(read_text_file(evaluation).splitlines(), start=1):
        match = _EVALUATION.match(line.strip())
        if match is None:
            continue  # evaluator detail lines (C-E1:, A-E2:, %) follow each turn
        start, end, turn, code = float(match.group(1)), float(match.group(2)), match.group(3), match.group(4)
        gender = _TURN.search(turn)
        if gender is None or not turn.startswith(dialog + "_"):
            raise InputError(f"{evaluation}, line {number}: turn {turn!r} is not '{dialog}_F000'-like")
        if not end > start:
            raise InputError(
                f"{evaluation}, line {number}: turn {turn!r} ends ({end}) before it starts ({start})"
            )
        key = utterance_key(dialog, turn)
        if code not in codes:
            outcomes.add(key, "label_excluded", f"label {code!r} is not among {list(codes)}")
            continue
        if turn not in texts:
            outcomes.add(key, "missing_transcript", f"{turn} has no line in transcriptions/{dialog}.txt")
        elif media_status != OK:
            outcomes.add(key, media_status, f"{video} not found")
        else:
            outcomes.add(key, OK)
        speaker = gender.group(1)
        records.append(
            {
                "dialogue_id": dialog,
                "utterance_id": turn,
                "speaker": speaker,
                "label": codes[code],
                "text": texts.get(turn, ""),
                "media": str(video) if require_media else "",
                "start": start if require_media else np.nan,
                "end": end if require_media else np.nan,
                "face_side": face_sides["marked" if speaker == marked else "unmarked"]
                if require_media
                else "",
                "session": session,
                "turn_start": start,
                "turn_end": end,
            }
        )
    return pd.DataFrame.from_records(records)


def _transcripts(path: Path) -> dict[str, str]:
    """Turn name → cleaned text; a missing file gives no texts (each turn is then counted)."""
    if not path.is_file():
        log.warning("%s not found: its utterances get empty text", path)
        return {}
    texts = {}
    for line in read_text_file(path).splitlines():
        match = _TRANSCRIPT.match(line.strip())
        if match is not None:
            texts[match.group(1)] = clean_text(match.group(4))
    return texts


def _splits(rows: pd.DataFrame, test_sessions: set[int], fraction: float, seed: int) -> np.ndarray:
    is_test = rows["session"].isin(test_sessions).to_numpy()
    validation = seeded_validation(rows.loc[~is_test, "dialogue_id"], fraction, seed)
    split = np.where(rows["dialogue_id"].isin(validation), "validation", "train")
    return np.where(is_test, "test", split)
