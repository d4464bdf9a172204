"""Markdown tables for BENCHMARKS.md from a finished workflow run: scores per variant, time per stage.

Works for any text-only dataset entry (meld_text, emorynlp_text, ...); per-class columns follow the first
dataset's store labels.

Reads ``results/{ds}/runs/{variant}/summary.json`` (mean ± std over seeds) and Snakemake's per-job
``results/{ds}/benchmarks/**.tsv`` (wall-clock ``s``, ``cpu_time``, ``mean_load``), so the figures in
BENCHMARKS.md are the run's own.

    snakemake --cores 2 train_meld_text train_meld_text_ft
    python benchmarks/meld_text_table.py meld_text meld_text_ft
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from multiemo.data.store import FeatureStore
from multiemo.features.text_finetune import HEAD_FILE
from multiemo.metrics import classification_scores


def _pm(stat: dict) -> str:
    return f"{stat['mean']:.2f} ± {stat['std']:.2f}"


def score_rows(results: Path, dataset: str, labels: list[str]) -> list[str]:
    rows = []
    for summary_path in sorted((results / dataset / "runs").glob("*/summary.json")):
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
        test = summary["test"]
        per_class = " | ".join(
            f"{test['per_class_f1'][label]['mean']:.1f}" if label in test["per_class_f1"] else "–"
            for label in labels
        )
        rows.append(
            f"| {dataset} | {summary_path.parent.name} | **{_pm(test['weighted_f1'])}** | "
            f"{_pm(test['accuracy'])} | {per_class} | {_pm(summary['validation']['weighted_f1'])} "
            f"| {','.join(map(str, summary['best_epoch']))} | {_pm(summary['oracle_test_weighted_f1'])} |"
        )
    return rows


def head_rows(results: Path, dataset: str, labels: list[str]) -> list[str]:
    """The fine-tuned encoder's own linear head (EmoBERTa-style classification, no MultiEMO) on the store's
    text features, which are that encoder's pooled outputs for the same inputs; deterministic, one row."""
    head_file = results / dataset / "text_encoder" / HEAD_FILE
    if not head_file.is_file():
        return []
    head = torch.load(head_file, map_location="cpu")  # nn.Sequential(Dropout, Linear) state dict
    weight, bias = head["1.weight"].numpy(), head["1.bias"].numpy()
    store = FeatureStore(results / dataset / "store")
    features, label_ids, split = store.features("text"), store.label_ids(), store.table["split"].to_numpy()
    scores = {}
    for name in ("validation", "test"):
        rows = np.flatnonzero((split == name) & (label_ids >= 0))
        guesses = (np.asarray(features[rows]) @ weight.T + bias).argmax(1)
        scores[name] = classification_scores(label_ids[rows], guesses, store.labels)
    test = scores["test"]
    per_class = " | ".join(f"{test['per_class_f1'].get(label, float('nan')):.1f}" for label in labels)
    row = (
        f"| {dataset} | encoder's own head (no MultiEMO, 1 run) | **{test['weighted_f1']:.2f}** "
        f"| {test['accuracy']:.2f} | {per_class} | {scores['validation']['weighted_f1']:.2f} | – | – |"
    )
    return [row]


def stage_rows(results: Path, dataset: str) -> list[str]:
    rows = []
    benchmarks = results / dataset / "benchmarks"
    stages: dict[str, list[pd.Series]] = {}
    for tsv in sorted(benchmarks.rglob("*.tsv")):
        stage = tsv.relative_to(benchmarks).parts[0].removesuffix(".tsv")
        stages.setdefault(stage, []).append(pd.read_csv(tsv, sep="\t").iloc[-1])
    for stage, jobs in stages.items():
        frame = pd.DataFrame(jobs)
        wall, cpu = frame["s"].sum(), frame["cpu_time"].sum()
        load = frame["mean_load"].mean() / 100.0  # Snakemake's mean_load is CPU percent of the job
        rows.append(
            f"| {dataset} | {stage} | {len(frame)} | {wall / 60:.1f} min | {cpu / 60:.1f} min | {load:.2f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("datasets", nargs="+")
    parser.add_argument("--results", default="results", type=Path)
    args = parser.parse_args()
    labels = FeatureStore(args.results / args.datasets[0] / "store").labels
    print(
        "| dataset | variant | test wF1 | test accuracy | "
        + " | ".join(labels)
        + " | validation wF1 | best epochs | oracle test wF1 |"
    )
    print("|---" * (7 + len(labels)) + "|")
    for dataset in args.datasets:
        print("\n".join(score_rows(args.results, dataset, labels) + head_rows(args.results, dataset, labels)))
    print()
    print("| dataset | stage | jobs | wall-clock (sum) | CPU time (sum) | job CPU use (cores) |")
    print("|---|---|---|---|---|---|")
    for dataset in args.datasets:
        print("\n".join(stage_rows(args.results, dataset)))


if __name__ == "__main__":
    main()
