"""Voice activity and diarization on the development set: in-sample and leave-one-recording-out scores.

Scores the no-transcript path of ``multiemo predict`` on every (wav, rttm) pair of ``meetings/`` and
``conversation/`` (:mod:`benchmarks.speech_dev.cache`), with pyannote.metrics (collar 0.5 s, overlap scored
and not), beside the one-speaker baseline; the settings are chosen on the set by
:mod:`benchmarks.speech_dev.protocol`. The shipped defaults are scored too, as they are. Silero
probabilities and window embeddings are computed once per recording and cached under ``--cache``. The
settings before issue 25 (``previous``) and the defaults with the reference's number of speakers given
(``count_given``) are scored beside them.

    python -m benchmarks.diarization_dev [--data ../shared/data] [--cache results/speech_dev] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.speech_dev.cache import ONE_SPEAKER_SOURCE, development_set, load, one_speaker_cut
from benchmarks.speech_dev.protocol import (
    Setting,
    describe,
    detection_error,
    diarization_grid,
    evaluate,
    hypothesis,
    vad_grid,
)
from benchmarks.speech_dev.scoring import Recording, score_set
from multiemo.conversations.diarization import DiarizationConfig
from multiemo.conversations.segmentation import SegmentationConfig

#: The settings before issue 25 (silero at 0.5 without hysteresis; agglomeration below 1.1), on grid windows.
PREVIOUS_VAD = {"silero_threshold": 0.5, "silero_off_threshold": 0.5, "speech_pad": 0.0, "min_silence": 0.4,
                "min_speech": 0.3}
PREVIOUS_DIARIZATION = {"threshold": 1.1, "one_speaker_similarity": 1.0, "min_turn": 0.5}


def table(scored: dict) -> str:
    """A markdown table of a scored set: one row per recording and the summed row."""
    lines = [("| recording | DER | DER, overlap not scored | one-speaker baseline (not scored) "
              "| missed / FA / confusion (s, not scored) | speakers (ref) | VAD P / R |"),
             "|---|---|---|---|---|---|---|"]
    for name, row in [*scored["recordings"].items(), ("**summed**", scored["total"])]:
        parts = row["no_overlap"]
        vad = row.get("vad")
        speakers = f"{row['speakers']} ({row['reference_speakers']})" if "speakers" in row else \
            f"exact {row['count_exact']}/{row['recordings']}, ±1 {row['count_within_1']}/{row['recordings']}"
        lines.append(f"| {name} | {row['der']:.1%} | {row['der_no_overlap']:.1%} "
                     f"| {row['baseline_no_overlap']:.1%} | "
                     f"{parts['missed']:.2f} / {parts['false']:.2f} / {parts['confusion']:.2f} "
                     f"| {speakers} | "
                     + (f"{vad['precision']:.3f} / {vad['recall']:.3f} |" if vad else "|"))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--cache", type=Path, default=Path("results/speech_dev"))
    parser.add_argument("--out", type=Path, help="write the full scores as JSON here")
    args = parser.parse_args()
    seg, diar = SegmentationConfig(), DiarizationConfig()
    tic = time.perf_counter()
    recordings = [load(name, wav, rttm, args.cache, diar.step)
                  for name, wav, rttm in development_set(args.data)]
    cached = time.perf_counter() - tic
    report: dict = {}
    previous = Setting(replace(seg, **PREVIOUS_VAD), replace(diar, **PREVIOUS_DIARIZATION))
    for name, settings in (("previous", [previous] * len(recordings)),
                           ("defaults", [Setting(seg, diar)] * len(recordings)),
                           ("count_given", [Setting(seg, replace(diar, num_speakers=len(set(r.reference[1]))))
                                            for r in recordings])):
        report[name] = score_set(Recording(r.name, r.reference, hypothesis(r, s))
                                 for r, s in zip(recordings, settings))
        for r, s in zip(recordings, settings):
            report[name]["recordings"][r.name].update(vad=detection_error(r, s.segmentation),
                                                      setting=describe(s))
    report.update(evaluate(recordings, vad_grid(seg), diarization_grid(diar)))
    chosen = report.pop("chosen")
    # The one-speaker cut, under the in-sample settings and those chosen without the recording it is cut from.
    one = load(*one_speaker_cut(args.data, args.cache), args.cache, diar.step)
    source = next(i for i, r in enumerate(recordings) if r.wav.stem == ONE_SPEAKER_SOURCE)
    for name, setting in (("in_sample", chosen["in_sample"]), ("leave_one_out", chosen["folds"][source])):
        report[name]["one_speaker_cut"] = {"speakers": len(set(hypothesis(one, setting)[1])),
                                           "setting": describe(setting)}
    report["meta"] = {"cache_seconds": round(cached, 1),
                      "search_seconds": round(time.perf_counter() - tic - cached, 1),
                      "load_average": os.getloadavg(), "machine": platform.platform(), "cpus": os.cpu_count(),
                      "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                               text=True, check=False).stdout.strip()}
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    for name in ("previous", "defaults", "count_given", "in_sample", "leave_one_out"):
        print(f"\n### {name}\n\n{table(report[name])}")
        if "one_speaker_cut" in report[name]:
            print(f"\none-speaker cut: {report[name]['one_speaker_cut']}")
    print(json.dumps(report["meta"]))


if __name__ == "__main__":
    main()
