"""The results report states test calibration before and after temperature scaling, with a reliability
diagram."""

from __future__ import annotations

import json

import numpy as np
import pytest

from multiemo.metrics import calibration_scores, classification_scores
from multiemo.report import write_report
from multiemo.runs.calibration import fit_temperature, softmax

LABELS = ["neutral", "joy", "anger"]


def write_run(run, seed: int) -> dict:
    """A run directory with the metrics.json and history.jsonl a trained run has, from overconfident
    logits."""
    rng = np.random.default_rng(seed)
    honest = rng.normal(scale=1.5, size=(400, len(LABELS)))
    y = (softmax(honest).cumsum(1) > rng.random((400, 1))).argmax(1)
    logits = 3.0 * honest
    temperature = fit_temperature(logits[:200], y[:200])  # "validation" half
    test_logits, test_y = logits[200:], y[200:]
    test = classification_scores(test_y, test_logits.argmax(1), LABELS)
    test["calibration"] = {"before": calibration_scores(softmax(test_logits), test_y),
                           "after": calibration_scores(softmax(test_logits, temperature), test_y)}
    metrics = {"labels": LABELS, "test": test, "validation": {"weighted_f1": 50.0}, "seed": seed,
               "best_epoch": 1, "oracle_test_weighted_f1": 55.0, "oracle_note": "not valid",
               "calibration": {"method": "temperature", "temperature": temperature}}
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps(metrics))
    (run / "history.jsonl").write_text("".join(json.dumps({"epoch": e, "train_loss": 1.0 / e,
                                                           "validation_loss": 1.2,
                                                           "validation_weighted_f1": 40.0 + e}) + "\n"
                                               for e in (1, 2)))
    return metrics


def test_report_gives_calibration_before_and_after_and_a_reliability_diagram(tmp_path):
    runs = [tmp_path / "runs" / f"seed_{s}" for s in (1, 2)]
    metrics = [write_run(run, seed) for seed, run in zip((1, 2), runs)]
    result = write_report(tmp_path / "report", title="toy", variants={"full": runs}, main_variant="full")
    calibration = result["variants"]["full"]["test"]["calibration"]
    for stage in ("before", "after"):
        expected = np.mean([m["test"]["calibration"][stage]["ece"] for m in metrics])
        assert calibration[stage]["ece"]["mean"] == pytest.approx(expected)
    assert calibration["after"]["ece"]["mean"] < calibration["before"]["ece"]["mean"]
    assert calibration["temperature"]["values"] == [m["calibration"]["temperature"] for m in metrics]
    text = (tmp_path / "report" / "results.md").read_text()
    assert "## Calibration (test, main variant)" in text and "![reliability diagram](reliability.png)" in text
    ece_row = next(line for line in text.splitlines() if line.startswith("| ECE (%)"))
    assert f"{calibration['before']['ece']['mean']:.3f}" in ece_row
    assert (tmp_path / "report" / "reliability.png").read_bytes()[:4] == b"\x89PNG"
