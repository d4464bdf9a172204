"""Per-utterance extraction speed on MELD-sized clips, and the original every-frame MTCNN approach.

Generates clips like MELD's (1280x720, 24 fps, about 3 s, speech + a real face) in a temporary folder,
then times, per clip:
  audio     decode + openSMILE ComParE_2016 functionals (``extract_audio``)
  visual    our approach: ``num_frames`` sampled frames, one batched MTCNN pass at <= 640 px, default
            backbone; also with the original's detector settings, to separate frame sampling from
            detector scale
  original  decode every frame, MTCNN (facenet-pytorch defaults, full resolution) on all of them,
            keep up to 20 detections, embed with the same backbone and average
and projects the wall-clock for all 13,708 MELD utterances on an 8-core machine, assuming utterances
are independent shards run as 8 single-threaded processes (about 8x the single-core rate).

    OMP_NUM_THREADS=1 python -m benchmarks.extract_speed --clips 6 --original-clips 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
from skimage import data as skdata

from multiemo.features.audio import extract_audio
from multiemo.features.faces import DetectionConfig, FaceCropper
from multiemo.features.media import decode_audio, sample_frames
from multiemo.features.visual import VisualConfig, VisualExtractor, extract_visual
from tests.clips import write_clip

MELD_UTTERANCES = 13_708
CORES = 8
WIDTH, HEIGHT, FPS, SECONDS, SR = 1280, 720, 24, 3.0, 16000
RAVDESS = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ravdess"
ORIGINAL_KEEP = 20  # detections the original kept per clip


def speech(index: int) -> np.ndarray:
    """3 s of real RAVDESS speech where available, else a voiced synthetic tone."""
    wavs = sorted(RAVDESS.glob("*.wav")) if RAVDESS.is_dir() else []
    n = int(SECONDS * SR)
    if wavs:
        return np.resize(decode_audio(wavs[index % len(wavs)], sample_rate=SR), n)
    t = np.arange(n) / SR
    phase = 2 * np.pi * np.cumsum(120 + 20 * np.sin(2 * np.pi * t)) / SR
    return (0.3 * np.sin(phase) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def frames(index: int):
    """A sitcom-like shot: textured background, the astronaut's face drifting a little (H.264 sees motion)."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    background = np.stack([(xx // 4) % 256, (yy // 3) % 256, ((xx + yy) // 5) % 256], axis=-1).astype(
        np.uint8
    )
    face = cv2.resize(skdata.astronaut()[:300, 60:360], (300, 300), interpolation=cv2.INTER_AREA)
    for t in range(int(SECONDS * FPS)):
        frame = background.copy()
        x = 300 + 40 * index % 400 + int(30 * np.sin(t / 10))
        y = 150 + int(10 * np.cos(t / 7))
        frame[y : y + 300, x : x + 300] = face
        yield frame


def original_clip_embedding(path: Path, cropper: FaceCropper, extractor: VisualExtractor) -> bool:
    """The original recipe for one clip; True when a face was found."""
    every_frame = sample_frames(path, num_frames=int(SECONDS * FPS))  # (T, H, W, 3), full resolution
    # MTCNN in batches of 8 frames (kinder to the original than its one frame at a time).
    crops = [cropper.crops(every_frame[i : i + 8]) for i in range(0, len(every_frame), 8)]
    kept = np.concatenate(crops)[:ORIGINAL_KEEP]
    if len(kept):
        extractor.embed_mean([kept])
    return len(kept) > 0


def per_clip(extract, table: pd.DataFrame):
    """Run ``extract`` on ``table``; return its result and seconds per row net of one-time setup."""
    extract(table.iloc[:1])  # warm-up: first-use costs (library loading, lazy imports) are not per clip
    start = time.perf_counter()
    extract(table.iloc[:0])
    setup = time.perf_counter() - start
    start = time.perf_counter()
    result = extract(table)
    return result, max(0.0, time.perf_counter() - start - setup) / len(table)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=6, help="clips for audio and our visual approach")
    parser.add_argument(
        "--original-clips", type=int, default=2, help="clips for the (slow) original approach"
    )
    parser.add_argument("--num-frames", type=int, default=VisualConfig().num_frames)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = one shard per core)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory(prefix="extract_speed_") as tmp:
        start = time.perf_counter()
        paths = [
            write_clip(
                Path(tmp) / f"dia0_utt{i}.mp4", frames=frames(i), fps=FPS, audio=speech(i), sample_rate=SR
            )
            for i in range(max(args.clips, args.original_clips))
        ]
        print(
            f"wrote {len(paths)} clips of {WIDTH}x{HEIGHT} @ {FPS} fps, {SECONDS:.0f} s "
            f"in {time.perf_counter() - start:.1f} s"
        )
        table = pd.DataFrame(
            {
                "dialogue_id": "dia0",
                "utterance_id": [f"utt{i}" for i in range(args.clips)],
                "media": [str(p) for p in paths[: args.clips]],
                "start": np.nan,
                "end": np.nan,
                "face_side": "",
            }
        )

        # The one-time setup (openSMILE config, MTCNN and backbone weights) is timed on an empty table
        # and taken out, so s/clip is the steady per-utterance cost of a long-running shard.
        audio, audio_s = per_clip(lambda t: extract_audio(t, progress=False), table)
        visual, visual_s = per_clip(
            lambda t: extract_visual(t, num_frames=args.num_frames, progress=False), table
        )
        # Frame sampling alone, with the original's detector settings (full resolution, 20 px faces).
        full_res = DetectionConfig(detect_side=max(WIDTH, HEIGHT), min_face_size=20)
        sampled_full, sampled_full_s = per_clip(
            lambda t: extract_visual(t, num_frames=args.num_frames, detection=full_res, progress=False),
            table.iloc[: args.original_clips],
        )
        extractor = VisualExtractor(VisualConfig())
        original = FaceCropper(full_res, extractor.device)
        start = time.perf_counter()
        found = sum(original_clip_embedding(p, original, extractor) for p in paths[: args.original_clips])
        original_s = (time.perf_counter() - start) / args.original_clips
        rows = [
            (
                "audio: openSMILE ComParE_2016",
                args.clips,
                audio_s,
                f"{audio.outcomes.counts()}, dim {audio.dim}",
            ),
            (
                f"visual: ours ({args.num_frames} sampled frames)",
                args.clips,
                visual_s,
                f"{visual.outcomes.counts()}, {visual.provenance['backbone']} dim {visual.dim}",
            ),
            (
                "visual: ours, detector at full res/20 px",
                args.original_clips,
                sampled_full_s,
                f"{sampled_full.outcomes.counts()}",
            ),
            (
                "visual: original (all frames, MTCNN each)",
                args.original_clips,
                original_s,
                f"face in {found}/{args.original_clips}",
            ),
        ]

    print(f"\n{'stage':44s} {'clips':>5s} {'s/clip':>8s} {'13,708 utts, 8 cores':>21s}  notes")
    for name, n, seconds, note in rows:
        projected = MELD_UTTERANCES * seconds / CORES
        print(f"{name:44s} {n:5d} {seconds:8.3f} {projected / 3600:18.2f} h  {note}")
    total = (audio_s + visual_s) * MELD_UTTERANCES / CORES
    print(f"\nvisual speed-up over the original: {original_s / visual_s:.1f}x")
    print(
        f"projected audio + visual (ours) for all {MELD_UTTERANCES:,} MELD utterances on {CORES} cores: "
        f"{total / 3600:.2f} h ({total / 60:.0f} min), assuming independent single-threaded shards "
        f"(~{CORES}x)."
    )


if __name__ == "__main__":
    main()
