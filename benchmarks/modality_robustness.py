"""Test weighted-F1 when a modality is missing at prediction time, trained with and without modality dropout.

For each ``model.modality_dropout`` value and seed, trains one run on the store with the dataset's settings
from config.yaml, then scores its best-on-validation checkpoint on the test split with nothing removed and
with each modality removed (``present`` False for every test utterance: the model uses its learned
"missing" vector instead). Prints a Markdown table (mean ± std over seeds) and writes it with the raw
numbers into ``--out``.

    python -m benchmarks.modality_robustness --store results/demo/store --dataset demo \\
        --out results/robustness/demo --dropouts 0.0,0.3 --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.robustness import evaluate_without
from multiemo.data.store import FeatureStore
from multiemo.io import write_json
from multiemo.settings import load_yaml
from multiemo.training import train_run
from multiemo.training.config import resolve_run_settings

REPO = Path(__file__).resolve().parents[1]


def floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="feature store (e.g. results/demo/store)")
    parser.add_argument("--dataset", default="demo", help="dataset entry or preset of the config")
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml")
    parser.add_argument("--out", type=Path, required=True, help="folder for the runs and the results")
    parser.add_argument("--dropouts", type=floats, default=[0.0, 0.3], help="model.modality_dropout values")
    parser.add_argument("--seeds", type=ints, default=[1, 2, 3])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="extra settings, e.g. train.epochs=20")
    args = parser.parse_args()

    store = FeatureStore(args.store)
    config = load_yaml(args.config)
    started = time.perf_counter()
    scores: dict[str, dict[str, list[float]]] = {}
    modalities: list[str] = []
    for dropout in args.dropouts:
        for seed in args.seeds:
            overrides = [*args.overrides, f"model.modality_dropout={dropout}", f"train.seed={seed}",
                         f"train.device={args.device}"]
            settings = resolve_run_settings(config, args.dataset, overrides)
            run = args.out / f"dropout_{dropout}" / f"seed_{seed}"
            train_run(store.root, settings, run, progress=False)
            modalities = list(settings["model"].get("modalities", ["text", "audio", "visual"]))
            for removed in ["none", *modalities]:
                drop = () if removed == "none" else (removed,)
                f1 = evaluate_without(run, drop, store=store, device=args.device)["weighted_f1"]
                scores.setdefault(str(dropout), {}).setdefault(removed, []).append(f1)
            print(f"dropout {dropout} seed {seed}: " +
                  ", ".join(f"{r} {v[-1]:.1f}" for r, v in scores[str(dropout)].items()), flush=True)
    table = markdown(scores, ["none", *modalities], args.dropouts)
    test = store.table["split"] == "test"
    result = {
        "store": str(args.store.resolve()),
        "dataset_settings": args.dataset,
        "overrides": args.overrides,
        "test_utterances": int(test.sum()),
        "test_dialogues": int(store.table.loc[test, "dialogue_id"].nunique()),
        "seeds": args.seeds,
        "weighted_f1": scores,
        "seconds": time.perf_counter() - started,
        "machine": f"{platform.platform()}, torch {torch.__version__}, {args.device}",
    }
    write_json(args.out / "robustness.json", result)
    (args.out / "robustness.md").write_text(table + "\n", encoding="utf-8")
    print(table)


def markdown(scores: dict[str, dict[str, list[float]]], rows: list[str], dropouts: list[float]) -> str:
    """Rows: modality removed at test time; columns: training modality dropout; cells: mean ± std (Δ)."""
    header = "| removed at prediction | " + " | ".join(f"modality_dropout {d}" for d in dropouts) + " |"
    lines = [header, "|---" * (len(dropouts) + 1) + "|"]
    for removed in rows:
        cells = []
        for dropout in dropouts:
            values = np.asarray(scores[str(dropout)][removed])
            base = np.mean(scores[str(dropout)]["none"])
            std = values.std(ddof=1) if values.size > 1 else 0.0
            delta = "" if removed == "none" else f" ({values.mean() - base:+.1f})"
            cells.append(f"{values.mean():.1f} ± {std:.1f}{delta}")
        lines.append(f"| {removed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
