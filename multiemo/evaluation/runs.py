"""A run: one seed trained, then its best checkpoint evaluated once; several seeds of one setting."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from multiemo.evaluation.evaluate import calibrate_run, evaluate_run
from multiemo.evaluation.summary import summarise_runs
from multiemo.io import write_json
from multiemo.training.calibration import CALIBRATION_FILE
from multiemo.training.checkpoint import read_history
from multiemo.training.config import TrainConfig
from multiemo.training.loop import fit


def train_run(
    store_path: str | os.PathLike,
    settings: Mapping,
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
    restart_if_changed: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train one seed, calibrate and evaluate its best-on-validation checkpoint; resume if ``out_dir`` holds a run.

    With ``train.calibration: temperature`` (the default) a temperature is fitted on the checkpoint's
    validation logits and written to ``calibration.json`` before the evaluation, which then reports
    calibration before and after it; with ``none`` an earlier ``calibration.json`` is removed.

    Args:
        store_path: feature store directory.
        settings: ``{"model": {...}, "train": {...}}`` as resolved from config.yaml and overrides.
        out_dir: the run directory (created).
        progress: show a progress bar over epochs.
        restart_if_changed: if ``out_dir`` holds a run with other settings, delete it and start afresh
            (the workflow's behaviour when a setting changed); otherwise refuse with an error.
        on_epoch: called with each epoch's history record once it is written (e.g. by benchmarks).

    Returns:
        The content written to ``out_dir/metrics.json``.
    """
    out = Path(out_dir)
    fitted = fit(store_path, settings, out, progress=progress, restart_if_changed=restart_if_changed,
                 on_epoch=on_epoch)
    tic = time.perf_counter()
    if (settings.get("train") or {}).get("calibration", TrainConfig.calibration) == "temperature":
        calibrate_run(out, store=fitted.store, device=fitted.device)
    else:
        (out / CALIBRATION_FILE).unlink(missing_ok=True)
    metrics = evaluate_run(out, splits=("validation", "test"), store=fitted.store, device=fitted.device)
    history = read_history(out / "history.jsonl")
    oracle = max(history, key=lambda r: r["test_weighted_f1"])
    metrics.update(
        best_epoch=fitted.best_epoch,
        seed=fitted.seed,
        epochs=fitted.epochs,
        train_seconds=fitted.seconds + time.perf_counter() - tic,
        oracle_test_weighted_f1=oracle["test_weighted_f1"],
        oracle_epoch=oracle["epoch"],
        oracle_note="best test score over all epochs: chosen on the test set, NOT a valid estimate; "
        "reported only for comparison with papers that selected epochs this way",
    )
    write_json(out / "metrics.json", metrics)
    return metrics


def train_seeds(
    store_path: str | os.PathLike,
    settings: Mapping,
    out_dir: str | os.PathLike,
    seeds: Sequence[int],
    *,
    progress: bool = True,
) -> dict:
    """Train one run per seed under ``out_dir/seed_{seed}`` and write ``out_dir/summary.json``."""
    out = Path(out_dir)
    run_dirs = []
    for seed in seeds:
        seeded = {"model": dict(settings.get("model", {})), "train": {**settings.get("train", {}), "seed": seed}}
        run_dir = out / f"seed_{seed}"
        train_run(store_path, seeded, run_dir, progress=progress)
        run_dirs.append(run_dir)
    summary = summarise_runs(run_dirs)
    write_json(out / "summary.json", summary)
    return summary
