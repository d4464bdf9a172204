import numpy as np
import pytest

from multiemo.metrics import calibration_scores, classification_scores, summarise


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


def test_calibration_scores_by_hand():
    # Four utterances, two bins of [0, 0.5] and (0.5, 1]; top probabilities 0.9, 0.8 (right), 0.6 (wrong),
    # 0.4.
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.6, 0.4, 0.0], [0.4, 0.3, 0.3]])
    y_true = np.array([0, 1, 1, 0])
    scores = calibration_scores(probs, y_true, bins=2)
    # bin (0.5, 1]: 3 utterances, mean confidence 0.7667, accuracy 2/3; bin [0, 0.5]: one, 0.4 and 1.
    assert scores["ece"] == pytest.approx(100 * (3 / 4 * abs(2 / 3 - 2.3 / 3) + 1 / 4 * abs(1.0 - 0.4)))
    assert [b["count"] for b in scores["bins"]] == [1, 3]
    assert scores["bins"][1]["accuracy"] == pytest.approx(2 / 3)
    # Brier: squared distance to the one-hot truth, averaged.
    brier = np.mean([0.01 + 0.01, 0.04 + 0.04, 0.36 + 0.36, 0.36 + 0.09 + 0.09])
    assert scores["brier"] == pytest.approx(brier)
    assert scores["nll"] == pytest.approx(-np.mean(np.log([0.9, 0.8, 0.4, 0.4])))


def test_calibration_scores_of_a_perfect_and_a_certain_wrong_model():
    onehot = np.eye(3)[[0, 1, 2, 1]]
    perfect = calibration_scores(onehot, np.array([0, 1, 2, 1]))
    assert perfect["ece"] == 0.0 and perfect["brier"] == 0.0
    wrong = calibration_scores(onehot, np.array([1, 2, 0, 0]))
    assert wrong["ece"] == pytest.approx(100.0) and wrong["brier"] == pytest.approx(2.0)
    assert len(wrong["bins"]) == 15 and wrong["bins"][0]["confidence"] is None  # empty bins say so


def test_calibration_scores_reject_bad_input():
    with pytest.raises(ValueError, match="label indices"):
        calibration_scores(np.full((2, 2), 0.5), np.array([0, 2]))
    with pytest.raises(ValueError, match="no labelled"):
        calibration_scores(np.zeros((0, 2)), np.array([], dtype=int))
