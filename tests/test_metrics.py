import numpy as np
import pytest

from multiemo.metrics import classification_scores, summarise


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


@pytest.mark.parametrize("seed", range(5))
def test_scores_match_scikit_learn(seed):
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    labels = ["a", "b", "c", "d", "e"]
    # class "e" never occurs; with seed-dependent skew some classes are never predicted
    y_true = rng.choice(4, size=60, p=[0.5, 0.3, 0.15, 0.05])
    y_pred = np.where(rng.random(60) < 0.6, y_true, rng.choice(4 - seed % 2, size=60))
    got = classification_scores(y_true, y_pred, labels)
    index = list(range(len(labels)))
    seen = sorted(set(y_true) | set(y_pred))
    f1 = dict(zip(seen, metrics.f1_score(y_true, y_pred, labels=seen, average=None, zero_division=0)))
    assert got["weighted_f1"] == pytest.approx(
        100 * metrics.f1_score(y_true, y_pred, labels=index, average="weighted", zero_division=0))
    assert got["macro_f1"] == pytest.approx(
        100 * metrics.f1_score(y_true, y_pred, labels=seen, average="macro", zero_division=0))
    assert got["accuracy"] == pytest.approx(100 * metrics.accuracy_score(y_true, y_pred))
    assert got["per_class_f1"] == pytest.approx({labels[i]: 100 * f for i, f in f1.items()})
    assert got["confusion_matrix"] == metrics.confusion_matrix(y_true, y_pred, labels=index).tolist()


def test_rejects_out_of_range_indices():
    with pytest.raises(ValueError, match="lie in"):
        classification_scores(np.array([0, 3]), np.array([0, 1]), ["a", "b", "c"])
