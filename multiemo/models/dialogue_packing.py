"""Time-major packing of padded dialogues for step-by-step recurrences.

Rows are ordered by step, and within a step by dialogue length (longest first, ties by batch
position), so the dialogues still running at step t are the first ``batch_sizes[t]`` rows of that
step: finished dialogues drop out of the recurrent state by slicing, and padding is never computed.
This is the layout of :func:`torch.nn.utils.rnn.pack_padded_sequence`, plus the index that reverses
every dialogue within its own length, so a backward recurrence reuses the same packing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from multiemo.models.masks import dialogue_lengths


@dataclass(frozen=True)
class DialoguePacking:
    """Where each real utterance of a (B, T) batch goes in the packed, time-major order.

    Attributes:
        flat: (N,) long, flat position b * T + t of each packed row.
        reverse: (N,) long, packed row of the same dialogue's utterance L_b - 1 - t; its own inverse.
        batch_sizes: length T_max, non-increasing: number of dialogues still running at each step.
        batch: B.
        steps: T.
    """

    flat: Tensor
    reverse: Tensor
    batch_sizes: list[int]
    batch: int
    steps: int

    @classmethod
    def from_mask(cls, mask: Tensor) -> DialoguePacking:
        """Build the packing of a batch.

        Args:
            mask: (B, T) bool, True = real utterance, padding only at the end of each row.

        Raises:
            ValueError: if the mask breaks that convention (see :func:`dialogue_lengths`).
        """
        lengths = dialogue_lengths(mask)  # (B,)
        batch, steps = mask.shape
        positions = torch.arange(steps, device=mask.device)  # (T,)
        order = torch.sort(lengths, descending=True, stable=True).indices  # (B,) longest first
        running = lengths[order][None, :] > positions[:, None]  # (T, B): sorted dialogue still running
        flat = (order[None, :] * steps + positions[:, None])[running]  # (N,) time-major
        row_of_flat = torch.full((batch * steps,), -1, dtype=torch.long, device=mask.device)
        row_of_flat[flat] = torch.arange(flat.numel(), device=mask.device)
        dialogue, step = flat // steps, flat % steps
        reverse = row_of_flat[dialogue * steps + lengths[dialogue] - 1 - step]  # (N,)
        batch_sizes = running.sum(dim=1)
        return cls(flat, reverse, batch_sizes[batch_sizes > 0].tolist(), batch, steps)

    def pack(self, x: Tensor) -> Tensor:
        """(..., B, T, C) -> (..., N, C)."""
        lead = x.shape[:-3]
        return x.reshape(*lead, self.batch * self.steps, x.shape[-1]).index_select(len(lead), self.flat)

    def unpack(self, rows: Tensor) -> Tensor:
        """(..., N, C) -> (..., B, T, C), zeros at padded positions."""
        lead, channels = rows.shape[:-2], rows.shape[-1]
        out = rows.new_zeros(*lead, self.batch * self.steps, channels)
        return out.index_copy(len(lead), self.flat, rows).view(*lead, self.batch, self.steps, channels)
