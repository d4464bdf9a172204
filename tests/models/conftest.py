"""Tiny batches of padded dialogues for the model tests, made in code."""

from __future__ import annotations

import pytest
import torch


def _make_batch(lengths, dims, *, num_parties=3, seed=0, garbage=0.0):
    """Random padded batch: features m -> (B, T, D_m), party (B, T), mask (B, T).

    Padded positions hold ``garbage`` * N(0, 1) features and out-of-range party indices when
    ``garbage`` is non-zero, zeros and 0 otherwise.
    """
    gen = torch.Generator().manual_seed(seed)
    steps = max(lengths)
    mask = torch.arange(steps) < torch.tensor(lengths)[:, None]  # (B, T)
    features = {}
    for m, d in dims.items():
        x = torch.randn(len(lengths), steps, d, generator=gen)
        noise = garbage * torch.randn(x.shape, generator=gen)
        features[m] = torch.where(mask[..., None], x, noise)
    party = torch.randint(0, num_parties, mask.shape, generator=gen)
    party = torch.where(mask, party, torch.full_like(party, 1000 if garbage else 0))
    return features, party, mask


@pytest.fixture
def make_batch():
    return _make_batch
