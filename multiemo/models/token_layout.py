"""Real utterances of a padded batch as a flat token list, grouped by dialogue length for attention.

Position-wise layers (linear maps, feed-forward blocks, LayerNorm) cost the same for a padded
utterance as for a real one, and attention over a (B, T, T) score tensor costs T^2 per dialogue
however short it is. With IEMOCAP-like lengths (8 to 110 utterances) most of that work is padding.
So the tokens are stored flat (real utterances only), and attention runs on a few dense blocks of
dialogues of similar length, each padded only to its own longest dialogue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from multiemo.models.masks import dialogue_lengths

# A block holds dialogues at most this many times shorter than the batch's longest one divided by
# BLOCK_RATIO**k; 1.5 leaves about a third of full padding at the price of ~7 blocks for lengths 8..110.
BLOCK_RATIO = 1.5


@dataclass(frozen=True)
class AttentionBlock:
    """Dialogues of similar length, as a dense (n, S) batch.

    Attributes:
        positions: (tokens in block,) long, flat position i * S + t of each of the block's tokens.
        attend: (n, 1, 1, S) bool key mask, True = real utterance.
        dialogues: n.
        steps: S, length of the block's longest dialogue.
    """

    positions: Tensor
    attend: Tensor
    dialogues: int
    steps: int

    def unpack(self, tokens: Tensor) -> Tensor:
        """(tokens in block, C) -> (n, S, C), zeros at padded positions."""
        flat = tokens.new_zeros(self.dialogues * self.steps, tokens.shape[-1])
        return flat.index_copy(0, self.positions, tokens).view(self.dialogues, self.steps, -1)

    def pack(self, x: Tensor) -> Tensor:
        """(n, S, C) -> (tokens in block, C)."""
        return x.reshape(self.dialogues * self.steps, -1).index_select(0, self.positions)


@dataclass(frozen=True)
class TokenLayout:
    """Where the N real utterances of a (B, T) batch are, as flat tokens ordered block by block.

    Attributes:
        index: (N,) long, flat position b * T + t of each token.
        blocks: the attention blocks, in token order.
        block_sizes: number of tokens in each block (to split the token list).
        batch: B.
        steps: T.
    """

    index: Tensor
    blocks: tuple[AttentionBlock, ...]
    block_sizes: list[int]
    batch: int
    steps: int

    @classmethod
    def from_mask(cls, mask: Tensor) -> TokenLayout:
        """Args: mask: (B, T) bool, True = real utterance, padding only at the end of each row and
        at least one real utterance per row (ValueError otherwise)."""
        lengths = dialogue_lengths(mask)  # (B,)
        batch, steps = mask.shape
        sorted_lengths, order = torch.sort(lengths, descending=True, stable=True)
        shrink = (sorted_lengths[0] / sorted_lengths).log() / math.log(BLOCK_RATIO)  # (B,)
        counts = torch.unique_consecutive(shrink.floor().long(), return_counts=True)[1].tolist()

        index, blocks, block_sizes = [], [], []
        for dialogues, block_lengths in zip(order.split(counts), sorted_lengths.split(counts), strict=True):
            block_steps = int(block_lengths[0])
            positions = torch.arange(block_steps, device=mask.device)  # (S,)
            real = positions < block_lengths[:, None]  # (n, S)
            index.append((dialogues[:, None] * steps + positions)[real])
            local = torch.arange(len(dialogues), device=mask.device)[:, None] * block_steps + positions
            blocks.append(AttentionBlock(local[real], real[:, None, None, :], len(dialogues), block_steps))
            block_sizes.append(int(real.sum()))
        return cls(torch.cat(index), tuple(blocks), block_sizes, batch, steps)

    def pack(self, x: Tensor) -> Tensor:
        """(B, T, C) -> (N, C), real utterances only."""
        return x.reshape(self.batch * self.steps, -1).index_select(0, self.index)

    def unpack(self, tokens: Tensor) -> Tensor:
        """(N, C) -> (B, T, C), zeros at padded positions."""
        flat = tokens.new_zeros(self.batch * self.steps, tokens.shape[-1])  # (B*T, C)
        return flat.index_copy(0, self.index, tokens).view(self.batch, self.steps, -1)
