"""Modality dropout: hide whole modalities of random utterances during training."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def drop_modalities(present: Tensor, p: float) -> Tensor:
    """Mark each present (utterance, modality) as missing with probability ``p``, independently.

    An utterance never loses all of its present modalities: if every one of them was dropped, one of
    them, chosen uniformly at random, is kept. Utterances with no present modality stay as they are.
    Uses the global torch RNG, so ``torch.manual_seed`` makes the draw reproducible.

    Args:
        present: (B, T, M) bool, True where the modality is available.
        p: drop probability in [0, 1).

    Returns:
        (B, T, M) bool, a subset of ``present``.
    """
    if p == 0:
        return present
    kept = present & (torch.rand(present.shape, device=present.device) >= p)  # (B, T, M)
    lost_all = present.any(dim=-1) & ~kept.any(dim=-1)  # (B, T)
    # Uniform choice among the present modalities: the largest of i.i.d. uniforms, absent ones excluded.
    scores = torch.rand(present.shape, device=present.device).masked_fill(~present, -1.0)  # (B, T, M)
    rescued = F.one_hot(scores.argmax(dim=-1), present.shape[-1]).bool() & lost_all[..., None]
    return kept | rescued
