"""Running a trained MultiEMO over conversations of any length, in overlapping windows of utterances.

Training dialogues are short (MELD: at most 24 utterances, IEMOCAP: about 110), while a one-hour recording
has a thousand or more; attention over all of them would cost memory quadratic in its length. A dialogue
longer than ``window`` utterances is therefore cut into windows of ``window`` utterances; each window
predicts its *core* (``window - 2 * context`` utterances) and sees up to ``context`` utterances of past
and future around it. Cores tile the dialogue exactly, so every utterance is predicted once. Inside a
window, speakers are numbered by first appearance, as in training; speakers beyond the model's number of
parties share its last party (counted as ``party_folded``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from multiemo.models import MultiEMO


def window_spans(length: int, window: int, context: int) -> list[tuple[int, int, int, int]]:
    """Windows over one dialogue of ``length`` utterances.

    Returns:
        ``(lo, hi, core_lo, core_hi)`` per window: the model sees rows [lo, hi) and keeps predictions for
        [core_lo, core_hi). Cores are disjoint and cover [0, length); every window but a lone one has
        exactly ``window`` rows.
    """
    if window < 1 or context < 0 or window - 2 * context < 1:
        raise ValueError(f"need window >= 1, context >= 0 and window - 2 * context >= 1, got {window}, "
                         f"{context}")
    if length <= window:
        return [(0, length, 0, length)]
    core = window - 2 * context
    spans = []
    for core_lo in range(0, length, core):
        core_hi = min(length, core_lo + core)
        lo = max(0, core_lo - context)
        hi = min(length, lo + window)
        lo = max(0, hi - window)
        spans.append((lo, hi, core_lo, core_hi))
    return spans


@torch.no_grad()
def classify_windows(
    model: MultiEMO,
    features: Mapping[str, np.ndarray],
    present: Mapping[str, np.ndarray],
    dialogue_ids: np.ndarray,
    speakers: np.ndarray,
    *,
    num_parties: int,
    window: int = 128,
    context: int = 32,
    batch_size: int = 8,
    temperature: float = 1.0,
    progress: bool = True,
) -> tuple[np.ndarray, int]:
    """Class probabilities of every utterance.

    Args:
        model: the trained model in eval mode (its parameters' device is used).
        features: modality -> (N, D_m) float32; rows of one dialogue are contiguous and in order.
        present: modality -> (N,) bool, False where the modality is missing.
        dialogue_ids: (N,) dialogue of each row; speakers: (N,) speaker of each row.
        num_parties: number of parties the model was trained with.
        window, context: see the module docstring.
        batch_size: windows per forward pass.
        temperature: the logits are divided by it before the softmax (calibration; 1 = the raw model).

    Returns:
        ((N, C) float32 probabilities, number of utterances whose speaker shared the last party).
    """
    n = len(dialogue_ids)
    device = next(model.parameters()).device
    codes = pd.factorize(np.asarray(dialogue_ids), sort=False)[0]
    starts = np.flatnonzero(np.diff(np.concatenate([[-1], codes])))
    ends = np.append(starts[1:], n)
    spans = [(a + lo, a + hi, a + c_lo, a + c_hi) for a, b in zip(starts, ends)
             for lo, hi, c_lo, c_hi in window_spans(int(b - a), window, context)]
    # Row n is an all-zero padding row, so a (B, T) index matrix gathers padded batches in one call.
    padded = {m: torch.from_numpy(np.concatenate([np.asarray(v, np.float32),
                                                  np.zeros((1, v.shape[1]), np.float32)]))
              .to(device) for m, v in features.items()}
    shown = {m: torch.from_numpy(np.append(np.asarray(p, bool), False)).to(device)
             for m, p in present.items()}
    probs = np.zeros((n, 0), dtype=np.float32)
    folded = 0
    for begin in tqdm(range(0, len(spans), batch_size), desc="emotions", unit="batch", disable=not progress):
        chunk = spans[begin : begin + batch_size]
        steps = max(hi - lo for lo, hi, _, _ in chunk)
        index = np.full((len(chunk), steps), n, dtype=np.int64)  # (B, T)
        party = np.zeros((len(chunk), steps), dtype=np.int64)  # (B, T)
        for b, (lo, hi, c_lo, c_hi) in enumerate(chunk):
            index[b, : hi - lo] = np.arange(lo, hi)
            order = pd.factorize(np.asarray(speakers[lo:hi]), sort=False)[0]
            folded += int((order[c_lo - lo : c_hi - lo] >= num_parties).sum())
            party[b, : hi - lo] = np.minimum(order, num_parties - 1)
        rows = torch.from_numpy(index).to(device)
        mask = rows < n  # (B, T)
        out = model(
            {m: v[rows] for m, v in padded.items()},
            torch.from_numpy(party).to(device),
            mask,
            {m: p[rows] for m, p in shown.items()},
        )
        batch_probs = (out.logits.float() / temperature).softmax(-1).cpu().numpy()  # (B, T, C)
        if probs.shape[1] == 0:
            probs = np.zeros((n, batch_probs.shape[-1]), dtype=np.float32)
        for b, (lo, _, c_lo, c_hi) in enumerate(chunk):
            probs[c_lo:c_hi] = batch_probs[b, c_lo - lo : c_hi - lo]
    return probs, folded
