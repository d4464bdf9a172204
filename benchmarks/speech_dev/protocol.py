"""The development protocol: every voice-activity and diarization setting chosen on recordings,
scored on others.

For a setting, a recording's hypothesis is what ``multiemo predict`` makes without a transcript (the same
functions: silero hysteresis, padding, joining and dropping; grid windows; clustering; turns), from the
cached probabilities and embeddings (:mod:`.cache`). Choosing is two stages, each over a grid:

1. voice activity: the setting with the least speech-detection error (missed + false-alarm speech seconds
   on 10 ms frames, against the reference's speech) summed over the recordings chosen on;
2. diarization, with that voice activity: the setting with the least DER (overlap not scored, collar
   0.5 s) summed over the same recordings.

*In-sample* chooses on all recordings and scores them; *leave-one-out* chooses on all but one and scores
that one, for each recording in turn; the left-out hypotheses are then scored together (:mod:`.scoring`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from pyannote.metrics.diarization import DiarizationErrorRate

from benchmarks.speech_dev.cache import Cached
from benchmarks.speech_dev.scoring import COLLAR, Recording, annotation, score_set
from benchmarks.speech_metrics import speech_f1
from multiemo.conversations.diarization import DiarizationConfig, diarize_embeddings, embedding_windows
from multiemo.conversations.segmentation import SegmentationConfig, silero_voiced, voiced_runs


@dataclass(frozen=True)
class Setting:
    """One point of the grid: a voice-activity and a diarization configuration."""

    segmentation: SegmentationConfig
    diarization: DiarizationConfig


def regions(cached: Cached, config: SegmentationConfig) -> np.ndarray:
    """(K, 2) speech segments of a cached recording, as ``segment_media`` cuts them with silero."""
    return voiced_runs(silero_voiced(cached.probs, config), cached.frame, config)[0]


def hypothesis(cached: Cached, setting: Setting) -> tuple[np.ndarray, list[str]]:
    """Speaker turns of a cached recording under ``setting`` (the no-transcript path of predict)."""
    speech = regions(cached, setting.segmentation)
    windows, index = embedding_windows(speech, cached.step, cached.duration)
    found = diarize_embeddings(speech, windows, cached.embeddings[index], setting.diarization)
    return found.turns, found.speakers


def detection_error(cached: Cached, config: SegmentationConfig) -> dict:
    """Missed and false-alarm speech seconds of the voice activity, and its precision and recall."""
    scores = speech_f1(cached.reference[0], regions(cached, config), cached.duration)
    ref, hyp = scores["speech_seconds"]["reference"], scores["speech_seconds"]["hypothesis"]
    return {"missed": ref * (1 - scores["recall"]), "false_alarm": hyp * (1 - scores["precision"]),
            "precision": scores["precision"], "recall": scores["recall"]}


def vad_grid(base: SegmentationConfig) -> list[SegmentationConfig]:
    """Voice-activity settings tried: silero's threshold (its off threshold 0.15 lower), padding, bridging."""
    return [replace(base, silero_threshold=t, speech_pad=p, min_silence=s)
            for t, p, s in itertools.product((0.15, 0.2, 0.3, 0.4, 0.5), (0.0, 0.1, 0.25), (0.4, 1.0, 2.0))]


def diarization_grid(base: DiarizationConfig) -> list[DiarizationConfig]:
    """Diarization settings tried: the merging threshold, the one-speaker rule (1.0: never), shortest turn."""
    return [replace(base, threshold=t, one_speaker_similarity=o, min_turn=m)
            for t, o, m in itertools.product((0.8, 0.9, 1.0, 1.1, 1.2), (0.84, 0.86, 0.88, 0.9, 0.92, 1.0),
                                             (0.5, 1.0))]


def _vad_errors(recordings: Sequence[Cached], vad: list[SegmentationConfig]) -> np.ndarray:
    """(V, R) speech-detection error seconds of each voice-activity setting on each recording."""
    return np.array([[sum(detection_error(r, c)[k] for k in ("missed", "false_alarm")) for r in recordings]
                     for c in vad])


def _der_parts(recordings: Sequence[Cached], segmentation: SegmentationConfig,
               diar: list[DiarizationConfig]) -> np.ndarray:
    """(D, R, 2) error and total seconds (overlap not scored) of each diarization setting on each
    recording."""
    metric = DiarizationErrorRate(collar=COLLAR, skip_overlap=True)
    out = np.zeros((len(diar), len(recordings), 2))
    warnings.filterwarnings("ignore", "'uem' was approximated", UserWarning)  # the extents are what is meant
    for r, cached in enumerate(recordings):
        reference = annotation(*cached.reference, cached.name)
        for d, config in enumerate(diar):
            parts = metric(reference,
                           annotation(*hypothesis(cached, Setting(segmentation, config)), cached.name),
                           detailed=True)
            out[d, r] = parts["missed detection"] + parts["false alarm"] + parts["confusion"], parts["total"]
    return out


def evaluate(recordings: Sequence[Cached], vad: list[SegmentationConfig],
             diar: list[DiarizationConfig]) -> dict:
    """In-sample and leave-one-out scores, with the settings each fold chose (module docstring)."""
    vad_errors = _vad_errors(recordings, vad)  # (V, R)
    der_parts: dict[int, np.ndarray] = {}  # chosen voice-activity setting -> (D, R, 2)

    def choose(on: list[int]) -> Setting:
        v = int(vad_errors[:, on].sum(1).argmin())
        if v not in der_parts:
            der_parts[v] = _der_parts(recordings, vad[v], diar)
        summed = der_parts[v][:, on].sum(1)  # (D, 2)
        return Setting(vad[v], diar[int((summed[:, 0] / np.maximum(summed[:, 1], 1e-9)).argmin())])

    everyone = list(range(len(recordings)))
    in_sample = choose(everyone)
    folds = [choose([j for j in everyone if j != i]) for i in everyone]
    out: dict = {"chosen": {"in_sample": in_sample, "folds": folds}}
    for name, settings in (("in_sample", [in_sample] * len(recordings)), ("leave_one_out", folds)):
        scored = score_set(Recording(r.name, r.reference, hypothesis(r, s))
                           for r, s in zip(recordings, settings))
        for r, s in zip(recordings, settings):
            scored["recordings"][r.name].update(vad=detection_error(r, s.segmentation), setting=describe(s))
        out[name] = scored
    return out


def describe(setting: Setting) -> dict:
    """The grid coordinates of a setting (what differs between points)."""
    seg, diar = setting.segmentation, setting.diarization
    return {"silero_threshold": seg.silero_threshold, "speech_pad": seg.speech_pad,
            "min_silence": seg.min_silence, "min_speech": seg.min_speech, "threshold": diar.threshold,
            "one_speaker_similarity": diar.one_speaker_similarity, "min_turn": diar.min_turn}
