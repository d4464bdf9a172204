"""Scoring a run with modalities removed at prediction time."""

from __future__ import annotations

import pytest

from benchmarks.robustness import WithoutModalities, evaluate_without
from multiemo.data.dialogues import DialogueSet
from multiemo.data.store import FeatureStore
from multiemo.evaluation.evaluate import evaluate_run


def test_removing_nothing_is_the_usual_evaluation(trained_run):
    usual = evaluate_run(trained_run, splits=("test",), device="cpu")["test"]
    # the usual evaluation adds calibration scores; robustness reports classification only
    usual.pop("calibration")
    assert evaluate_without(trained_run, (), device="cpu") == usual


def test_removed_modalities_are_absent_everywhere(mini_store, trained_run):
    data = DialogueSet(FeatureStore(mini_store), "test", ("text", "audio", "visual"))
    for batch in WithoutModalities(data, ("audio", "text")).batches(2):
        assert not batch.present["audio"].any() and not batch.present["text"].any()
        assert batch.present["visual"].any()
    scores = evaluate_without(trained_run, ("text", "audio", "visual"), device="cpu")
    assert 0.0 <= scores["weighted_f1"] <= 100.0
    with pytest.raises(ValueError, match="cannot remove \\['smell'\\]"):
        evaluate_without(trained_run, ("smell",), device="cpu")
