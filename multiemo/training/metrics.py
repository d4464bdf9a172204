"""Scores reported for emotion recognition in conversations, in percent."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score


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
    index = list(range(len(labels)))
    seen = sorted(set(y_true.tolist()) | set(y_pred.tolist()))
    per_class = f1_score(y_true, y_pred, labels=seen, average=None, zero_division=0)
    return {
        "weighted_f1": 100.0 * float(f1_score(y_true, y_pred, labels=index, average="weighted", zero_division=0)),
        "macro_f1": 100.0 * float(f1_score(y_true, y_pred, labels=seen, average="macro", zero_division=0)),
        "accuracy": 100.0 * float(accuracy_score(y_true, y_pred)),
        "per_class_f1": {labels[i]: 100.0 * float(f) for i, f in zip(seen, per_class)},
        "support": {labels[i]: int(c) for i, c in enumerate(np.bincount(y_true, minlength=len(labels))) if c},
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=index).tolist(),
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
