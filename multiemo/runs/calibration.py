"""Temperature scaling: one scalar T that makes a run's probabilities honest, stored beside its checkpoint.

A trained classifier is often over-confident: its top probability exceeds how often it is right. Dividing
the logits by one temperature T > 0 fitted on the validation split (Guo et al., 2017) fixes most of that
without changing any prediction (the argmax of logits / T is the argmax of the logits). The run keeps T in
``calibration.json``; :func:`load_calibration` is the one reader, used by prediction and by exports. The
fitting lives beside the record it makes (evaluation fits it at the end of training).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from multiemo.errors import InputError
from multiemo.io import write_json
from multiemo.runs.directory import CALIBRATION

METHODS = ("temperature", "none")
# Temperatures searched; beyond them the logits would be flattened or sharpened absurdly.
T_MIN, T_MAX = 0.05, 20.0


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, C) probabilities of (N, C) logits divided by ``temperature``, in float64."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def nll(logits: np.ndarray, y_true: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true classes under softmax(logits / temperature)."""
    z = np.asarray(logits, dtype=np.float64) / temperature  # (N, C)
    top = z.max(1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(z - top).sum(1))
    return float((log_norm - z[np.arange(len(z)), y_true]).mean())


def fit_temperature(logits: np.ndarray, y_true: np.ndarray, *, tolerance: float = 1e-6) -> float:
    """The temperature minimising the mean NLL of ``y_true``, by golden-section search on log T.

    The NLL is convex in 1/T, hence unimodal in log T, so the search finds the minimum over
    [``T_MIN``, ``T_MAX``] to ``tolerance`` in log T (a bound is returned when the minimum lies beyond it).

    Args:
        logits: (N, C) validation logits of the selected checkpoint; y_true: (N,) their labels.

    Raises:
        ValueError: no utterances, shapes that disagree, or non-finite logits.
    """
    logits = np.asarray(logits, dtype=np.float64)
    y_true = np.asarray(y_true, dtype=np.int64)
    if logits.ndim != 2 or len(logits) != len(y_true) or len(y_true) == 0:
        raise ValueError(f"need (N, C) logits with N > 0 labels, got {logits.shape} and {y_true.shape}")
    if not np.isfinite(logits).all():
        raise InputError("logits hold NaN or infinite values: the model diverged; calibration is impossible")
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    lo, hi = math.log(T_MIN), math.log(T_MAX)
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, y_true, math.exp(a)), nll(logits, y_true, math.exp(b))
    while hi - lo > tolerance:
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, y_true, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, y_true, math.exp(b))
    return math.exp((lo + hi) / 2.0)


def calibration_record(logits: np.ndarray, y_true: np.ndarray) -> dict:
    """Fit T on validation logits; the content of ``calibration.json``."""
    temperature = fit_temperature(logits, y_true)
    return {
        "method": "temperature",
        "temperature": temperature,
        "fitted_on": "validation",
        "n": len(y_true),
        "nll_before": nll(logits, y_true),
        "nll_after": nll(logits, y_true, temperature),
    }


def write_calibration(run_dir: str | os.PathLike, record: Mapping) -> Path:
    """Write ``record`` as the run's ``calibration.json`` (atomically); returns its path."""
    path = Path(run_dir) / CALIBRATION
    write_json(path, dict(record))
    return path


def load_calibration(run_dir: str | os.PathLike) -> dict | None:
    """The run's calibration (``{"method": "temperature", "temperature": T, ...}``), or None without one.

    Raises:
        ValueError: ``calibration.json`` is unreadable or its temperature is not a positive number.
    """
    path = Path(run_dir) / CALIBRATION
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: unreadable calibration ({err}); delete it to predict "
                         "uncalibrated") from err
    return check_calibration(record, source=str(path))


def check_calibration(record: object, *, source: str = "calibration") -> dict:
    """``record`` if it is a valid temperature calibration; ValueError naming ``source`` and the field."""
    if not isinstance(record, Mapping) or record.get("method") != "temperature":
        raise InputError(f"{source}: field 'method' must be 'temperature', got {record!r:.80}")
    temperature = record.get("temperature")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not (
        math.isfinite(temperature) and temperature > 0
    ):
        raise InputError(f"{source}: field 'temperature' must be a positive number, got {temperature!r}")
    return dict(record)
