"""Seconds per training epoch (train + validation + test pass) and peak memory, paper settings.

Features are random, but the dialogue structure is real: MELD's from its annotation CSVs
(lengths, parties, labels, splits) and an IEMOCAP-like one (120 training and 31 test dialogues,
mean length about 48, longest 110, two parties). Dimensions 768 (text), 512 (audio), 1000 (visual).

    python benchmarks/train_speed.py --dataset meld --meld-dir ../shared/data/meld
    python benchmarks/train_speed.py --dataset iemocap
    python benchmarks/train_speed.py --dataset iemocap --epochs 8   # how the peak develops over epochs
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from multiemo import bound_kernel_caches
from multiemo.data.store import write_store
from multiemo.runs.history import read_history
from multiemo.settings import load_yaml
from multiemo.training import train_run
from multiemo.training.config import resolve_run_settings

DIMS = {"text": 768, "audio": 512, "visual": 1000}
MELD_LABELS = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]
IEMOCAP_LABELS = ["happiness", "sadness", "neutral", "anger", "excitement", "frustration"]


def meld_table(meld_dir: Path) -> pd.DataFrame:
    frames = []
    for split, name in (("train", "train"), ("validation", "dev"), ("test", "test")):
        csv = pd.read_csv(meld_dir / f"{name}_sent_emo.csv", encoding="utf-8", encoding_errors="replace")
        csv = csv.sort_values(["Dialogue_ID", "Utterance_ID"])
        frame = pd.DataFrame({
            "dialogue_id": split + "_" + csv["Dialogue_ID"].astype(str),
            "utterance_id": csv["Utterance_ID"].astype(str),
            "speaker": csv["Speaker"].astype(str),
            "label": csv["Emotion"].str.lower(),
            "split": split,
            "text": "",
        })
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    return _with_positions(table)


def iemocap_like_table(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.normal(48, 20, size=151).round().astype(int), 8, 110)
    lengths[0] = 110
    rows = []
    for d, n in enumerate(lengths):
        split = "test" if d >= 120 else ("validation" if d >= 108 else "train")
        for u in range(n):
            rows.append({"dialogue_id": f"d{d}", "utterance_id": str(u),
                         "speaker": "FM"[int(rng.integers(2))],
                         "label": IEMOCAP_LABELS[int(rng.integers(6))], "split": split, "text": ""})
    return _with_positions(pd.DataFrame(rows))


def _with_positions(table: pd.DataFrame) -> pd.DataFrame:
    table["position"] = table.groupby("dialogue_id", sort=False).cumcount()
    table["party"] = table.groupby("dialogue_id", sort=False)["speaker"].transform(
        lambda s: pd.factorize(s, sort=False)[0])
    return table


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["meld", "iemocap"], required=True)
    parser.add_argument("--meld-dir", type=Path,
                        default=Path(__file__).resolve().parents[1] / ".." / "shared/data/meld")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.yaml")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="overrides on the preset, e.g. train.checkpoint_fusion=false")
    args = parser.parse_args()

    if args.dataset == "meld":
        if not args.meld_dir.is_dir():
            sys.exit(f"MELD annotations not found at {args.meld_dir}; pass --meld-dir")
        table, labels = meld_table(args.meld_dir), MELD_LABELS
    else:
        table, labels = iemocap_like_table(), IEMOCAP_LABELS
    rng = np.random.default_rng(0)
    features = {m: rng.standard_normal((len(table), d), dtype=np.float32) for m, d in DIMS.items()}
    settings = resolve_run_settings(load_yaml(args.config), args.dataset,
                                    [f"train.epochs={args.epochs}", f"train.device={args.device}", *args.set])
    with tempfile.TemporaryDirectory() as tmp:
        store = write_store(Path(tmp) / "store", name=args.dataset, table=table, labels=labels,
                            features=features)
        del features
        peaks = []  # peak RSS so far, after each epoch (Linux: VmHWM)
        tic = time.perf_counter()
        train_run(store.root, settings, Path(tmp) / "run", progress=False,
                  on_epoch=lambda record: peaks.append(_peak_rss_gb()))
        total = time.perf_counter() - tic
        history = read_history(Path(tmp) / "run" / "history.jsonl")
        checkpoint_mb = {name: round((Path(tmp) / "run" / name).stat().st_size / 2**20, 2)
                         for name in ("best.pt", "last.pt")}
        recorded = json.loads((Path(tmp) / "run" / "settings.json").read_text())["train"]
    epoch_seconds = [r["seconds"] for r in history]
    lengths = table.groupby("dialogue_id", sort=False).size()
    result = {
        "dataset": args.dataset,
        "device": args.device if args.device != "cpu" else f"cpu ({torch.get_num_threads()} threads)",
        "machine": platform.platform(),
        "utterances": {s: int((table.split == s).sum()) for s in ("train", "validation", "test")},
        "dialogues": int(lengths.size),
        "longest_dialogue": int(lengths.max()),
        "overrides": args.set,
        "precision": recorded["precision"],  # as resolved for this machine ("auto" -> fp32 or bf16)
        "checkpoint_fusion": settings["train"].get("checkpoint_fusion", False),
        "epoch_seconds": epoch_seconds,
        "run_seconds_incl_final_eval": total,
        "peak_rss_gb": _peak_rss_gb(),  # whole run, final evaluation included
        "peak_rss_gb_after_epoch": [round(p, 3) for p in peaks],
        "checkpoint_mb": checkpoint_mb,
    }
    if args.device.startswith("cuda"):
        result["peak_cuda_gb"] = torch.cuda.max_memory_allocated() / 1024**3
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
