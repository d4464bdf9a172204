"""Scores of a diarization against reference turns, per recording and summed over a set, with
pyannote.metrics.

For each recording: DER with overlapping speech scored and not scored (``skip_overlap``), its missed / false
alarm / confusion seconds, the speakers found against the reference's, and beside each DER the one-speaker
baseline (every reference speech region given to a single speaker): a diarization that does not beat it is
worse than none. Over a set, errors are summed over recordings before dividing (pyannote.metrics' accumulated
value, ``abs(metric)``), so long recordings weigh more. ``collar=0.5`` is md-eval's 0.25 s on each side.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

COLLAR = 0.5
PARTS = ("missed detection", "false alarm", "confusion", "total")


@dataclass
class Recording:
    """One scored recording: its name, reference and hypothesis turns ((T, 2) seconds, speaker per turn)."""

    name: str
    reference: tuple[np.ndarray, list[str]]
    hypothesis: tuple[np.ndarray, list[str]]


def annotation(turns: np.ndarray, speakers: list[str], uri: str) -> Annotation:
    """A pyannote Annotation of (T, 2) start/end seconds and one speaker label per turn."""
    out = Annotation(uri=uri)
    for index, ((start, end), speaker) in enumerate(zip(np.asarray(turns, float).reshape(-1, 2), speakers)):
        if end > start:
            out[Segment(float(start), float(end)), index] = speaker
    return out


def one_speaker(reference: Annotation) -> Annotation:
    """The reference's speech regions, all given to one speaker."""
    out = Annotation(uri=reference.uri)
    for region in reference.get_timeline().support():
        out[region] = "one"
    return out


def score_set(recordings: Iterable[Recording], *, collar: float = COLLAR) -> dict:
    """Per-recording scores and the set's summed scores (see the module docstring).

    Returns:
        ``{"recordings": {name: row}, "total": row}``; a row holds ``der`` and ``der_no_overlap`` (fractions),
        ``baseline`` and ``baseline_no_overlap`` (the one-speaker DERs), the parts of both DERs in seconds
        (``overlap`` and ``no_overlap``), and ``speakers`` / ``reference_speakers`` (recordings only) or
        ``count_exact`` / ``count_within_1`` / ``worse_than_baseline`` (the total).
    """
    metrics = {(kind, skip): DiarizationErrorRate(collar=collar, skip_overlap=skip)
               for kind in ("system", "baseline") for skip in (False, True)}
    rows: dict[str, dict] = {}
    for recording in recordings:
        reference = annotation(*recording.reference, recording.name)
        hypothesis = annotation(*recording.hypothesis, recording.name)
        guesses = {"system": hypothesis, "baseline": one_speaker(reference)}
        with warnings.catch_warnings():  # "uem approximated by the extents": what is meant here
            warnings.simplefilter("ignore", UserWarning)
            parts = {key: metric(reference, guesses[key[0]], detailed=True)
                     for key, metric in metrics.items()}
        row = _row(parts)
        row["speakers"] = len(hypothesis.labels())
        row["reference_speakers"] = len(reference.labels())
        rows[recording.name] = row
    total = _row({key: {**{part: metric.accumulated_.get(part, 0.0) for part in PARTS},
                        "diarization error rate": abs(metric)} for key, metric in metrics.items()})
    errors = [row["speakers"] - row["reference_speakers"] for row in rows.values()]
    total.update(count_exact=sum(e == 0 for e in errors), count_within_1=sum(abs(e) <= 1 for e in errors),
                 recordings=len(rows),
                 worse_than_baseline=[name for name, row in rows.items()
                                      if row["der_no_overlap"] > row["baseline_no_overlap"] + 0.10])
    return {"recordings": rows, "total": total}


def _row(parts: dict) -> dict:
    """A result row from pyannote's detailed components, keyed by (system | baseline, skip_overlap)."""
    def der(key) -> float:
        value = parts[key]
        return float(value["diarization error rate"]) if value["total"] > 0 else 0.0

    row = {"der": der(("system", False)), "der_no_overlap": der(("system", True)),
           "baseline": der(("baseline", False)), "baseline_no_overlap": der(("baseline", True))}
    for skip, name in ((False, "overlap"), (True, "no_overlap")):
        row[name] = {part.split()[0]: round(float(parts[("system", skip)].get(part, 0.0)), 3)
                     for part in PARTS}
    return row
