"""Scores of float32 and bfloat16 (``train.precision``) training on the same store, seed by seed.

Mixed precision changes rounding, so it must not change what a run learns beyond seed-to-seed noise.
This trains each seed once per precision, with everything else equal, and prints test weighted-F1 and
accuracy per run, their mean and standard deviation, and the paired difference.

    python benchmarks/precision_parity.py --dataset meld_text --store results/meld_text/store \
        --seeds 1,2,3,4,5
    python benchmarks/precision_parity.py --dataset demo --store results/demo/store --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from multiemo import bound_kernel_caches
from multiemo.settings import load_yaml
from multiemo.training import train_run
from multiemo.training.config import resolve_run_settings


def _mean_std(values: list[float]) -> list[float]:
    """[mean, sample standard deviation] (0 for a single value)."""
    array = np.asarray(values)
    return [float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0]


def main() -> None:
    bound_kernel_caches()  # before the first oneDNN kernel: see multiemo._onednn
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="dataset or preset name in the config")
    parser.add_argument("--store", type=Path, required=True, help="feature store to train on")
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.yaml")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="further overrides")
    parser.add_argument("--out", type=Path, help="keep the runs here (default: a temporary directory)")
    args = parser.parse_args()

    seeds = [int(s) for s in args.seeds.split(",")]
    precisions = args.precisions.split(",")
    config = load_yaml(args.config)
    scores: dict[str, list[dict]] = {p: [] for p in precisions}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        for seed in seeds:
            for precision in precisions:
                overrides = [*args.set, f"train.seed={seed}", f"train.precision={precision}"]
                settings = resolve_run_settings(config, args.dataset, overrides)
                tic = time.perf_counter()
                metrics = train_run(args.store, settings, root / precision / f"seed_{seed}", progress=False)
                run = {"seed": seed, "weighted_f1": metrics["test"]["weighted_f1"],
                       "accuracy": metrics["test"]["accuracy"], "best_epoch": metrics["best_epoch"],
                       "seconds": time.perf_counter() - tic}
                scores[precision].append(run)
                print(json.dumps({"precision": precision, **run}), flush=True)
    summary = {"dataset": args.dataset, "store": str(args.store), "overrides": args.set,
               "threads": torch.get_num_threads(), "runs": scores}
    for precision, runs in scores.items():
        summary[precision] = {key: _mean_std([r[key] for r in runs]) for key in ("weighted_f1", "accuracy")}
        summary[precision]["seconds_per_run"] = float(np.mean([r["seconds"] for r in runs]))
    if len(precisions) == 2:
        a, b = (np.array([r["weighted_f1"] for r in scores[p]]) for p in precisions)
        summary[f"{precisions[1]} - {precisions[0]} weighted_f1"] = {
            "per_seed": (b - a).round(2).tolist(), "mean": float((b - a).mean())}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
