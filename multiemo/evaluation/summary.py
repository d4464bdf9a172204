"""Mean ± std over the seeds of one setting, from each run's ``metrics.json``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from multiemo.errors import InputError
from multiemo.metrics import summarise


def summarise_runs(run_dirs: Sequence[str | os.PathLike]) -> dict:
    """Mean and std over runs of every test score (and validation weighted-F1, the oracle test figures)."""
    metrics = [json.loads((Path(d) / "metrics.json").read_text(encoding="utf-8")) for d in run_dirs]
    if not metrics:
        raise InputError("no runs to summarise")
    labels = metrics[0]["labels"]
    test = {
        key: summarise([m["test"][key] for m in metrics]) for key in ("weighted_f1", "accuracy", "macro_f1")
    }
    per_class = {
        label: summarise([m["test"]["per_class_f1"].get(label, 0.0) for m in metrics])
        for label in labels
        if any(label in m["test"]["per_class_f1"] for m in metrics)
    }
    summary = {
        "runs": [str(d) for d in run_dirs],
        "seeds": [m["seed"] for m in metrics],
        "labels": labels,
        "test": {**test, "per_class_f1": per_class},
        "validation": {"weighted_f1": summarise([m["validation"]["weighted_f1"] for m in metrics])},
        "best_epoch": [m["best_epoch"] for m in metrics],
        "oracle_test_weighted_f1": summarise([m["oracle_test_weighted_f1"] for m in metrics]),
        # None for runs made before the figure was recorded
        "oracle_test_accuracy": summarise(accuracies) if (accuracies := [
            m["oracle_test_accuracy"] for m in metrics
            if m.get("oracle_test_accuracy") is not None]) else None,
        "oracle_note": metrics[0]["oracle_note"],
    }
    calibration = _calibration(metrics)
    if calibration:
        summary["test"]["calibration"] = calibration
    return summary


def _calibration(metrics: Sequence[dict]) -> dict:
    """Test ECE, Brier score and NLL before/after calibration over the runs that report them; temperatures."""
    found = [m for m in metrics if "calibration" in m["test"]]
    if len(found) < len(metrics):
        return {}  # runs from before calibration was reported: nothing comparable to summarise
    result = {}
    for stage in ("before", "after"):
        if all(stage in m["test"]["calibration"] for m in found):
            result[stage] = {key: summarise([m["test"]["calibration"][stage][key] for m in found])
                             for key in ("ece", "brier", "nll")}
    if "after" in result:
        result["temperature"] = summarise([m["calibration"]["temperature"] for m in found])
    return result
