import numpy as np
import pytest

from multiemo.training.metrics import classification_scores, summarise


def test_scores_in_percent_with_confusion_matrix():
    labels = ["a", "b", "c"]
    scores = classification_scores(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), labels)
    assert scores["accuracy"] == pytest.approx(75.0)
    assert scores["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert set(scores["per_class_f1"]) == {"a", "b"}  # "c" never occurs: no meaningless 0
    assert scores["per_class_f1"]["a"] == pytest.approx(100 * 2 / 3)
    assert scores["weighted_f1"] == pytest.approx((100 * 2 / 3 + 100 * 0.8) / 2)


def test_summarise_uses_sample_std():
    s = summarise([1.0, 3.0])
    assert s["mean"] == 2.0 and s["std"] == pytest.approx(np.sqrt(2.0))
    assert summarise([5.0])["std"] == 0.0
