"""Voice activity and diarization on the real two-speaker telephone conversation, against its reference turns.

Scores silero-vad and the energy rule (speech/non-speech F1 on 10 ms frames) and the Resemblyzer diarization
(DER, collar 0.25 s as pyannote.metrics counts it, and 0.5 s = md-eval's ``-c 0.25``), with the number of
speakers estimated and given, and the time of each step relative to the recording's length (real-time
factor; the first call of a process also loads models and compiles librosa's kernels, so each is timed on
a second call).

    python -m benchmarks.speech_conversation [--data ../shared/data/conversation]
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

from benchmarks.speech_metrics import diarization_error_rate, read_rttm, speech_f1
from multiemo.conversations.diarization import DiarizationConfig, diarize
from multiemo.conversations.segmentation import SegmentationConfig, probe_media, segment_media


def timed(function, *args, **kwargs):
    function(*args, **kwargs)  # warm: model loading, kernel compilation
    tic = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - tic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/conversation")
    args = parser.parse_args()
    wav, rttm = Path(args.data) / "sample.wav", Path(args.data) / "sample.rttm"
    reference = read_rttm(rttm)
    info = probe_media(wav)
    report: dict = {"recording_seconds": info.duration, "load_average_before": os.getloadavg()}
    for vad in ("silero", "energy"):
        found, seconds = timed(segment_media, info, SegmentationConfig(vad=vad), progress=False)
        scores = speech_f1(reference[0], found.segments, info.duration)
        report[f"vad_{vad}"] = {"f1": round(scores["f1"], 4), "precision": round(scores["precision"], 4),
                                "recall": round(scores["recall"], 4), "segments": len(found.segments),
                                "real_time_factor": round(seconds / info.duration, 4)}
    regions = segment_media(info, SegmentationConfig(), progress=False).segments
    base = DiarizationConfig()
    for name, config in (("estimated", base), ("num_speakers_2", replace(base, num_speakers=2))):
        found, seconds = timed(diarize, wav, regions, info.duration, config)
        row = {"speakers_found": found.num_speakers, "real_time_factor": round(seconds / info.duration, 4)}
        for collar in (0.25, 0.5):
            der = diarization_error_rate(reference, (found.turns, found.speakers), info.duration,
                                         collar=collar)
            row[f"der_collar_{collar}"] = {k: round(v, 4) if isinstance(v, float) else v
                                           for k, v in der.items()}
        report[f"diarization_{name}"] = row
    report.update(load_average_after=os.getloadavg(), machine=platform.platform(), cpus=os.cpu_count(),
                  commit=subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, check=False).stdout.strip())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
