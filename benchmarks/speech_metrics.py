"""Scores of voice activity and diarization against reference turns (RTTM), on a grid of short frames.

* :func:`speech_f1`: precision, recall and F1 of the *speech* class (a frame is speech when any reference
  speaker talks in it).
* :func:`diarization_error_rate`: DER = (missed + false alarm + confusion) / reference speech, with
  overlapping speech scored (each speaker counts), hypothesis speakers mapped one-to-one to reference
  speakers so that matched time is largest (Hungarian), and frames near a reference turn's start or end
  left out of scoring. ``collar`` is the zone's total width, as in pyannote.metrics (``collar / 2`` on each
  side of a boundary); NIST md-eval's ``-c`` is the width on each side, so md-eval ``-c 0.25`` is
  ``collar=0.5`` here.

Time is cut into ``frame``-second frames (10 ms by default); a turn covers a frame when it covers the
frame's centre.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from multiemo.errors import InputError


def read_rttm(path: str | os.PathLike) -> tuple[np.ndarray, list[str]]:
    """(T, 2) start/end seconds and the speaker of each ``SPEAKER`` line of an RTTM file.

    Raises:
        ValueError: a SPEAKER line without numeric start and duration (names the line).
    """
    turns, speakers = [], []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        try:
            start, duration = float(fields[3]), float(fields[4])
        except (IndexError, ValueError):
            raise InputError(f"{path}, line {number}: expected 'SPEAKER file 1 start duration ...'") from None
        turns.append((start, start + duration))
        speakers.append(fields[7])
    return np.asarray(turns, dtype=float).reshape(-1, 2), speakers


def activity(turns: np.ndarray, speakers: list[str], frames: int,
             frame: float) -> tuple[np.ndarray, list[str]]:
    """(F, S) bool: speaker s talks in frame f (frame centre inside one of its turns); speaker names."""
    names = sorted(set(speakers))
    grid = np.zeros((frames, len(names)), bool)
    centres = (np.arange(frames) + 0.5) * frame
    for (start, end), speaker in zip(np.asarray(turns).reshape(-1, 2), speakers):
        grid[(centres >= start) & (centres < end), names.index(speaker)] = True
    return grid, names


def speech_f1(reference: np.ndarray, hypothesis: np.ndarray, duration: float, frame: float = 0.01) -> dict:
    """Speech/non-speech scores of ``hypothesis`` (K, 2) speech segments against ``reference`` (T, 2)
    turns."""
    frames = round(duration / frame)
    ref = activity(reference, ["s"] * len(reference), frames, frame)[0].any(1)
    hyp = activity(hypothesis, ["s"] * len(hypothesis), frames, frame)[0].any(1)
    hits = int((ref & hyp).sum())
    precision = hits / max(int(hyp.sum()), 1)
    recall = hits / max(int(ref.sum()), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return {"precision": precision, "recall": recall, "f1": f1,
            "speech_seconds": {"reference": ref.sum() * frame, "hypothesis": hyp.sum() * frame}}


def diarization_error_rate(reference: tuple[np.ndarray, list[str]], hypothesis: tuple[np.ndarray, list[str]],
                           duration: float, *, collar: float = 0.25, frame: float = 0.01) -> dict:
    """DER of hypothesis turns against reference turns.

    Args:
        reference, hypothesis: ((T, 2) start/end seconds, speaker per turn).
        duration: seconds scored (from 0).
        collar: total width of the no-score zone around each reference boundary, in seconds (as
            pyannote.metrics' ``collar``: ``collar / 2`` on each side).
        frame: grid step in seconds.

    Returns:
        ``der`` and its parts (``missed``, ``false_alarm``, ``confusion``, ``total``, in seconds) and the
        mapping hypothesis -> reference speaker.
    """
    from scipy.optimize import linear_sum_assignment

    frames = round(duration / frame)
    ref, ref_names = activity(*reference, frames, frame)  # (F, R)
    hyp, hyp_names = activity(*hypothesis, frames, frame)  # (F, H)
    centres = (np.arange(frames) + 0.5) * frame
    scored = np.ones(frames, bool)
    for boundary in np.asarray(reference[0]).reshape(-1):
        scored &= np.abs(centres - boundary) >= collar / 2
    ref, hyp = ref[scored], hyp[scored]
    n_ref, n_hyp = ref.sum(1), hyp.sum(1)  # (F,)
    missed = np.maximum(n_ref - n_hyp, 0).sum()
    false_alarm = np.maximum(n_hyp - n_ref, 0).sum()
    matched = ref.T.astype(np.int64) @ hyp.astype(np.int64)  # (R, H) frames both talk
    rows, cols = linear_sum_assignment(-matched) if matched.size else ([], [])
    correct = int(matched[rows, cols].sum()) if len(rows) else 0
    confusion = np.minimum(n_ref, n_hyp).sum() - correct
    total = n_ref.sum()
    return {
        "der": float((missed + false_alarm + confusion) / max(total, 1)),
        "missed": float(missed * frame),
        "false_alarm": float(false_alarm * frame),
        "confusion": float(confusion * frame),
        "total": float(total * frame),
        "mapping": {hyp_names[c]: ref_names[r] for r, c in zip(rows, cols) if matched[r, c] > 0},
    }
