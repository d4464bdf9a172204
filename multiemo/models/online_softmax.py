"""Softmax-weighted pooling over a growing sequence, computed online in O(1) memory.

DialogueRNN's context vector at step t is a softmax-weighted mean of the global states g_1..g_{t-1},
with a score that depends on g_i alone. Because earlier scores never change, the pool can be carried
as a running (max, denominator, weighted sum) triple, rescaled whenever the max grows — the same trick
as flash attention — instead of storing the history and re-running a softmax at every step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class SoftmaxPool(NamedTuple):
    """Running state of a softmax pool over the values seen so far.

    Attributes:
        max: (..., 1) largest score seen.
        denom: (..., 1) sum of exp(score - max).
        total: (..., D) sum of exp(score - max) * value.
    """

    max: Tensor
    denom: Tensor
    total: Tensor


def pool_start(score: Tensor, value: Tensor) -> SoftmaxPool:
    """Start a pool holding one element.

    Args:
        score: (..., 1) score of the first value.
        value: (..., D) first value.
    """
    return SoftmaxPool(score, torch.ones_like(score), value)


def pool_add(pool: SoftmaxPool, score: Tensor, value: Tensor) -> SoftmaxPool:
    """Add one (score, value) pair; differentiable, no in-place writes.

    Args:
        pool: state with leading shape (...).
        score: (..., 1).
        value: (..., D).
    """
    new_max = torch.maximum(pool.max, score)  # (..., 1)
    old_scale = torch.exp(pool.max - new_max)  # (..., 1), <= 1: rescales what was summed so far
    new_weight = torch.exp(score - new_max)  # (..., 1)
    denom = pool.denom * old_scale + new_weight
    total = torch.addcmul(pool.total * old_scale, new_weight, value)  # (..., D)
    return SoftmaxPool(new_max, denom, total)


def pool_read(pool: SoftmaxPool) -> Tensor:
    """Softmax-weighted mean of the values added so far: (..., D)."""
    return pool.total / pool.denom


def pool_narrow(pool: SoftmaxPool, dim: int, length: int) -> SoftmaxPool:
    """Keep the first ``length`` entries along ``dim`` (used when finished dialogues drop out)."""
    return SoftmaxPool(*(x.narrow(dim, 0, length) for x in pool))
