"""Temperature scaling: it finds the temperature that made logits over-confident, never changes a
prediction, and the run's calibration.json is read back or refused with a message naming it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from multiemo.metrics import calibration_scores
from multiemo.runs.calibration import (
    calibration_record,
    check_calibration,
    fit_temperature,
    load_calibration,
    nll,
    softmax,
    write_calibration,
)


def overconfident(temperature: float, n: int = 20000, classes: int = 5, seed: int = 0):
    """Logits whose softmax after dividing by ``temperature`` is the true label distribution."""
    rng = np.random.default_rng(seed)
    honest = rng.normal(scale=1.5, size=(n, classes))  # (N, C)
    p = softmax(honest)
    y = (p.cumsum(1) > rng.random((n, 1))).argmax(1)  # one draw per row from its distribution
    return honest * temperature, y


@pytest.mark.parametrize("true_t", [0.5, 1.0, 2.5])
def test_fitted_temperature_recovers_the_known_one(true_t):
    logits, y = overconfident(true_t)
    assert fit_temperature(logits, y) == pytest.approx(true_t, rel=0.05)


def test_calibration_improves_ece_and_changes_no_prediction():
    logits, y = overconfident(3.0, seed=1)
    t = fit_temperature(logits, y)
    before, after = softmax(logits), softmax(logits, t)
    np.testing.assert_array_equal(before.argmax(1), after.argmax(1))  # accuracy and F1 cannot change
    scores_before, scores_after = calibration_scores(before, y), calibration_scores(after, y)
    assert scores_after["ece"] < scores_before["ece"] / 3
    assert scores_after["brier"] < scores_before["brier"]
    assert nll(logits, y, t) < nll(logits, y)


def test_nll_matches_the_softmax_definition():
    logits, y = overconfident(2.0, n=50)
    expected = -np.log(softmax(logits, 1.7)[np.arange(50), y]).mean()
    assert nll(logits, y, 1.7) == pytest.approx(expected)


def test_record_round_trips_through_the_run_directory(tmp_path):
    logits, y = overconfident(2.0, n=500)
    record = calibration_record(logits, y)
    assert record["method"] == "temperature" and record["fitted_on"] == "validation" and record["n"] == 500
    assert record["nll_after"] <= record["nll_before"]
    write_calibration(tmp_path, record)
    assert load_calibration(tmp_path) == json.loads(json.dumps(record))
    assert load_calibration(tmp_path / "elsewhere") is None  # a run without calibration


@pytest.mark.parametrize("content, field", [
    ("{not json", "unreadable"),
    ('{"method": "platt", "temperature": 1.0}', "'method'"),
    ('{"method": "temperature", "temperature": -1}', "'temperature'"),
    ('{"method": "temperature", "temperature": "2"}', "'temperature'"),
    ('{"method": "temperature", "temperature": NaN}', "'temperature'"),
])
def test_a_broken_calibration_file_is_one_clear_error(tmp_path, content, field):
    (tmp_path / "calibration.json").write_text(content)
    with pytest.raises(ValueError, match=f"calibration.json.*{field}"):
        load_calibration(tmp_path)


def test_fit_rejects_diverged_logits():
    with pytest.raises(ValueError, match="NaN"):
        fit_temperature(np.array([[np.nan, 0.0]]), np.array([0]))
    assert check_calibration({"method": "temperature", "temperature": 2})["temperature"] == 2
