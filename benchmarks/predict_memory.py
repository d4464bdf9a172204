"""Peak memory and speed of ``multiemo predict`` on a long generated conversation (default: one hour).

Writes a video of ``--minutes`` minutes (a voiced synthetic tone of 1.5 s every ``--period`` s, 64x48
frames at 2 fps, written frame by frame) with an SRT transcript of one cue per utterance, then, in a fresh
process (so that writing the video does not count): predicts a 20-second version first (loads every
model), records peak RSS, predicts the long one and writes its predictions (CSV, JSON, timeline, page), and
reports the peak RSS growth, the peak of traced
Python/numpy allocations during it (tracemalloc on, which slows it), and the time.

    OMP_NUM_THREADS=1 python -m benchmarks.predict_memory --run results/demo/runs/full/seed_1 --minutes 60
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from multiemo.conversations.inputs import from_video
from multiemo.features.media import decode_audio
from multiemo.predict import Predictor
from multiemo.predict.outputs import write_predictions
from tests.clips import write_clip

SR = 16000


def voice(seconds: float) -> np.ndarray:
    """A voiced tone: 140 Hz with harmonics and a syllable-rate envelope."""
    t = np.arange(round(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(140 + 30 * np.sin(2 * np.pi * 0.7 * t)) / SR
    tone = sum(0.2 / k * np.sin(k * phase) for k in range(1, 6)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return tone.astype(np.float32)


def conversation(folder: Path, name: str, seconds: float, period: float, speech: np.ndarray | None = None
                 ) -> tuple[Path, Path]:
    """``name``.mp4 and ``name``.srt; only the audio track is held in memory while writing. Each utterance is
    the synthetic tone, or with ``speech`` the next 1.5 s of that recording (cycled)."""
    starts = np.arange(0.5, seconds - 2, period)
    burst = voice(1.5)
    audio = np.zeros(round(seconds * SR), dtype=np.float32)
    for i, start in enumerate(starts):
        if speech is not None:
            at = (i * len(burst)) % (len(speech) - len(burst))
            burst = speech[at : at + len(burst)]
        audio[round(start * SR) : round(start * SR) + len(burst)] = burst
    frames = (np.full((48, 64, 3), (i * 7) % 255, np.uint8) for i in range(round(seconds * 2)))
    video = write_clip(folder / f"{name}.mp4", frames=frames, fps=2, audio=audio, sample_rate=SR)
    del audio
    srt = folder / f"{name}.srt"
    srt.write_text("\n".join(f"{i}\n{stamp(s)} --> {stamp(s + 1.5)}\n{'AB'[i % 2]}: sentence number {i}.\n"
                             for i, s in enumerate(starts, 1)), encoding="utf-8")
    return video, srt


def stamp(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="trained run directory")
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--period", type=float, default=10.0, help="seconds between utterance starts")
    parser.add_argument("--no-transcript", action="store_true", help="predict from audio and faces only")
    parser.add_argument("--speech", help="a real recording whose speech fills the utterances (silero-vad "
                                         "hears no speech in the synthetic tone), "
                                         "e.g. ../shared/data/conversation/sample.wav")
    parser.add_argument("--measure", nargs=4, metavar=("SHORT_MP4", "SHORT_SRT", "LONG_MP4", "LONG_SRT"),
                        help=argparse.SUPPRESS)  # the fresh measuring process
    args = parser.parse_args()
    if args.measure:
        measure(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        tic = time.perf_counter()
        speech = decode_audio(args.speech, sample_rate=SR) if args.speech else None
        if speech is not None:  # from its first loud sample, so that even the 20-second warm-up holds speech
            speech = speech[int(np.argmax(np.abs(speech) > 0.1 * np.abs(speech).max())) :]
        short = conversation(Path(tmp), "short", 20.0, args.period, speech)
        long = conversation(Path(tmp), "long", args.minutes * 60, args.period, speech)
        generate = time.perf_counter() - tic
        # Run as a module from the repo root, like the parent, so that `tests.clips` stays importable.
        measure_args = ["--measure", *map(str, (*short, *long))]
        command = [sys.executable, "-m", __spec__.name, *sys.argv[1:], *measure_args]
        report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    report.update(generate_seconds=round(generate, 1), machine=platform.platform())
    print(json.dumps(report, indent=2))


def measure(args: argparse.Namespace) -> None:
    short_video, short_srt, long_video, long_srt = args.measure
    predictor = Predictor(args.run, device="cpu", progress=False)
    out = Path(long_video).parent / "predictions"
    # the speaker encoder's second call takes a one-off ~30 MiB (tests/predict/test_memory.py)
    for _ in range(2):
        short = predictor.predict(from_video(short_video, None if args.no_transcript else short_srt,
                                             progress=False))
        write_predictions(out, short)  # CSV, JSON, timeline and page: what `multiemo predict` writes
    warm = peak_mib()
    tracemalloc.start()
    tic = time.perf_counter()
    result = predictor.predict(from_video(long_video, None if args.no_transcript else long_srt,
                                          progress=False))
    files = write_predictions(out, result)
    seconds = time.perf_counter() - tic
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps({
        "minutes": args.minutes,
        "utterances": len(result.table),
        "transcript": not args.no_transcript,
        "modalities_used": result.table["modalities"].value_counts().to_dict(),
        "speech": args.speech,
        "segmentation": result.info.get("segmentation"),
        "speaker_counts": result.counts.get("speaker"),
        "speakers_found": result.info.get("diarization", {}).get("speakers_found"),
        "predict_seconds": round(seconds, 1),
        "written_kib": {name: round(path.stat().st_size / 1024) for name, path in files.items()},
        "peak_rss_mib_after_20s_video": round(warm, 1),
        "peak_rss_mib_after_long_video": round(peak_mib(), 1),
        "traced_peak_mib_during_long_video": round(traced, 1),
        "decoded_audio_would_be_mib": round(args.minutes * 60 * SR * 4 / 2**20, 1),
    }))


if __name__ == "__main__":
    main()
