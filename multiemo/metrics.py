"""Scores reported for emotion recognition in conversations, in percent."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """Weighted-F1, accuracy, per-class F1 and the confusion matrix.

    Args:
        y_true: (N,) true label indices; only labelled, real utterances.
        y_pred: (N,) predicted label indices.
        labels: label names in index order.

    Returns:
        ``{"weighted_f1", "macro_f1", "accuracy"}`` in percent, ``"per_class_f1"`` (label → percent, only
        for labels that occur in ``y_true`` or ``y_pred``), ``"support"`` (label → count) and
        ``"confusion_matrix"`` (rows true, columns predicted, in ``labels`` order).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} differ in shape")
    if y_true.size == 0:
        raise ValueError("no labelled utterances to score")
    classes = len(labels)
    if y_true.min() < 0 or max(y_true.max(), y_pred.max()) >= classes or y_pred.min() < 0:
        raise ValueError(f"label indices must lie in [0, {classes})")
    # Computed here rather than with scikit-learn, whose import alone costs each training process about
    # 75 MB and 1.4 s; tests check the figures against scikit-learn's (zero_division=0).
    confusion = np.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    denominator = support + predicted
    f1 = np.divide(2.0 * np.diag(confusion), denominator, out=np.zeros(classes), where=denominator > 0)
    seen = np.flatnonzero(denominator > 0)  # labels that occur in y_true or y_pred
    return {
        "weighted_f1": 100.0 * float((f1 * support).sum() / support.sum()),
        "macro_f1": 100.0 * float(f1[seen].mean()),
        "accuracy": 100.0 * float(np.diag(confusion).sum() / y_true.size),
        "per_class_f1": {labels[i]: 100.0 * float(f1[i]) for i in seen},
        "support": {labels[i]: int(c) for i, c in enumerate(support) if c},
        "confusion_matrix": confusion.tolist(),
    }


def summarise(values: Sequence[float]) -> dict:
    """Mean and sample standard deviation (0 for a single value) of per-seed scores."""
    arr = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        "n": int(arr.size),
        "values": arr.tolist(),
    }


def calibration_scores(probs: np.ndarray, y_true: np.ndarray, *, bins: int = 15) -> dict:
    """How far predicted confidences are from observed accuracy.

    Args:
        probs: (N, C) class probabilities (rows sum to 1); only labelled, real utterances.
        y_true: (N,) true label indices.
        bins: equal-width confidence bins over [0, 1] for the expected calibration error.

    Returns:
        ``"ece"``: expected calibration error in percent, sum over bins of (bin size / N) times
        |accuracy - mean confidence| of the bin, confidence being the top probability (Guo et al., 2017);
        ``"brier"``: multi-class Brier score, the mean over utterances of the squared distance between the
        probability vector and the one-hot truth (0 = perfect, at most 2);
        ``"nll"``: mean negative log-likelihood of the true class (natural log);
        ``"bins"``: per bin ``{"lower", "upper", "count", "confidence", "accuracy"}`` (the reliability
        diagram; confidence and accuracy are ``None`` for an empty bin).
    """
    probs = np.asarray(probs, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    if probs.ndim != 2 or probs.shape[0] != y_true.shape[0]:
        raise ValueError(f"probs {probs.shape} must be (N, C) for y_true {y_true.shape}")
    if y_true.size == 0:
        raise ValueError("no labelled utterances to score")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    n, classes = probs.shape
    if y_true.min() < 0 or y_true.max() >= classes:
        raise ValueError(f"label indices must lie in [0, {classes})")
    confidence = probs.max(1)
    correct = (probs.argmax(1) == y_true).astype(np.float64)
    # Bin b holds confidences in (b/bins, (b+1)/bins]; a confidence of exactly 0 falls in the first bin.
    which = np.clip(np.ceil(confidence * bins).astype(np.int64) - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=confidence, minlength=bins)
    acc_sum = np.bincount(which, weights=correct, minlength=bins)
    ece = float(np.abs(acc_sum - conf_sum).sum() / n)
    onehot = np.zeros_like(probs)
    onehot[np.arange(n), y_true] = 1.0
    brier = float(((probs - onehot) ** 2).sum(1).mean())
    nll = float(-np.log(np.clip(probs[np.arange(n), y_true], 1e-12, None)).mean())
    table = [
        {
            "lower": b / bins,
            "upper": (b + 1) / bins,
            "count": int(count[b]),
            "confidence": float(conf_sum[b] / count[b]) if count[b] else None,
            "accuracy": float(acc_sum[b] / count[b]) if count[b] else None,
        }
        for b in range(bins)
    ]
    return {"ece": 100.0 * ece, "brier": brier, "nll": nll, "bins": table}
