"""The training entry point: one seed trained, then its best checkpoint evaluated once; several seeds of one
setting, then their summary.

Training ends by scoring its selected checkpoint, so this module calls evaluation: training sits above
evaluation, which reads runs through :mod:`multiemo.runs` alone.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext

from multiemo.evaluation.evaluate import evaluate_run
from multiemo.evaluation.summary import summarise_runs
from multiemo.io import check_output_dir, lock_directory, write_json
from multiemo.runs.directory import CALIBRATION, HISTORY, METRICS, RUN_FOLDER, SEEDS_FOLDER, seed_run
from multiemo.runs.history import read_history
from multiemo.settings import check_seeds, from_mapping
from multiemo.training.config import TrainConfig
from multiemo.training.loop import fit
from multiemo.training.tracking import open_tracker


def train_run(
    store_path: str | os.PathLike,
    settings: Mapping,
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
    restart_if_changed: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train one seed, calibrate and evaluate its best-on-validation checkpoint; resume if ``out_dir`` holds a
    run.

    With ``train.calibration: temperature`` (the default) a temperature is fitted on the checkpoint's
    validation logits and written to ``calibration.json`` before the evaluation, which then reports
    calibration before and after it; with ``none`` an earlier ``calibration.json`` is removed.

    The run directory is locked meanwhile (:func:`multiemo.io.lock_directory`; ``train.lock: false`` skips it
    where the filesystem has no flock): a second process training into it stops with
    :class:`multiemo.io.DirectoryInUse` naming the holder. Each epoch's record also goes
    to the trackers ``train.tracking`` switches on (:mod:`multiemo.training.tracking`).

    Args:
        store_path: feature store directory.
        settings: ``{"model": {...}, "train": {...}}`` as resolved from config.yaml and overrides.
        out_dir: the run directory (created; a folder holding anything a run does not write, or holding the
            store, is refused with :class:`multiemo.io.OutputRefused`).
        progress: show a progress bar over epochs.
        restart_if_changed: if ``out_dir`` holds a run with other settings, delete it and start afresh
            (the workflow's behaviour when a setting changed); otherwise refuse with an error.
        on_epoch: called with each epoch's history record once it is written (e.g. by benchmarks).

    Returns:
        The content written to ``out_dir/metrics.json``.
    """
    out = check_output_dir(out_dir, RUN_FOLDER, inputs=[store_path])
    train = from_mapping(TrainConfig, settings.get("train", {}), section="train")
    lock = (lock_directory(out, "being trained", unlocked="set train.lock=false (then make sure no other "
                                                        "process trains into it)")
            if train.lock else nullcontext())
    with lock, open_tracker(train.tracking, out, settings, store_path) as tracker:

        def record(epoch: dict) -> None:
            tracker.log_epoch(epoch)
            if on_epoch is not None:
                on_epoch(epoch)

        fitted = fit(store_path, settings, out, progress=progress, restart_if_changed=restart_if_changed,
                     on_epoch=record)
        tic = time.perf_counter()
        calibrate = train.calibration == "temperature"
        if not calibrate:
            (out / CALIBRATION).unlink(missing_ok=True)
        # One pass over validation and test: the temperature is fitted on it, then both are scored.
        metrics = evaluate_run(out, splits=("validation", "test"), store=fitted.store, device=fitted.device,
                               calibrate=calibrate)
        history = read_history(out / HISTORY)
        oracle = max(history, key=lambda r: r["test_weighted_f1"])
        # histories resumed from before test_accuracy was logged may lack it on early epochs
        oracle_accuracy = max((r for r in history if "test_accuracy" in r), key=lambda r: r["test_accuracy"],
                              default=None)
        metrics.update(
            best_epoch=fitted.best_epoch,
            selection=train.selection,
            patience=train.patience,
            epochs_run=fitted.epochs_run,
            stopped_early=fitted.stopped_early,
            seed=fitted.seed,
            epochs=fitted.epochs,
            train_seconds=fitted.seconds + time.perf_counter() - tic,
            oracle_test_weighted_f1=oracle["test_weighted_f1"],
            oracle_epoch=oracle["epoch"],
            oracle_test_accuracy=oracle_accuracy["test_accuracy"] if oracle_accuracy else None,
            oracle_accuracy_epoch=oracle_accuracy["epoch"] if oracle_accuracy else None,
            oracle_note="best test scores over all epochs (each on its own epoch): chosen on the test set, "
            "NOT a valid estimate; reported only for comparison with papers that selected epochs this way",
        )
        write_json(out / METRICS, metrics)
    return metrics


def train_seeds(
    store_path: str | os.PathLike,
    settings: Mapping,
    out_dir: str | os.PathLike,
    seeds: Sequence[int],
    *,
    progress: bool = True,
) -> dict:
    """Train one run per seed under ``out_dir/seed_{seed}`` and write ``out_dir/summary.json``.

    ``out_dir`` holds only those (else :class:`multiemo.io.OutputRefused`); a repeated seed is refused
    (:func:`multiemo.settings.check_seeds`), and every seed's settings are checked before the first run starts
    (ConfigError).
    """
    seeds = check_seeds(seeds, "seeds")
    seeded = {seed: {"model": dict(settings.get("model", {})),
                     "train": {**settings.get("train", {}), "seed": seed}}
              for seed in seeds}
    for each in seeded.values():
        from_mapping(TrainConfig, each["train"], section="train")
    out = check_output_dir(out_dir, SEEDS_FOLDER, inputs=[store_path])
    run_dirs = []
    for seed, each in seeded.items():
        run_dir = seed_run(out, seed)
        train_run(store_path, each, run_dir, progress=progress)
        run_dirs.append(run_dir)
    summary = summarise_runs(run_dirs)
    write_json(out / "summary.json", summary)
    return summary
