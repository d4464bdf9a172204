"""The utterance mask convention, checked in one place."""

from __future__ import annotations

import torch
from torch import Tensor


def dialogue_lengths(mask: Tensor) -> Tensor:
    """Lengths of the dialogues of a padded batch, after checking the mask convention.

    Args:
        mask: (B, T) bool, True = real utterance, padding only at the end of each row.

    Returns:
        (B,) long lengths, all >= 1.

    Raises:
        ValueError: if the mask is not a (B, T) bool tensor, a row has padding before a real
            utterance, or a row has no real utterance.
    """
    if mask.dtype != torch.bool or mask.dim() != 2:
        raise ValueError(f"mask must be a (B, T) bool tensor, got {mask.dtype} {tuple(mask.shape)}")
    lengths = mask.sum(dim=1)  # (B,)
    if not torch.equal(mask, torch.arange(mask.shape[1], device=mask.device) < lengths[:, None]):
        raise ValueError("mask must be True on a prefix of each row (padding only at the end)")
    if bool((lengths == 0).any()):
        raise ValueError("every dialogue in the batch needs at least one real utterance")
    return lengths
