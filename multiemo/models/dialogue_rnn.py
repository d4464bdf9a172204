"""DialogueRNN context encoder on padded, batch-first dialogues."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from multiemo.models.dialogue_rnn_core import DialogueRNNCore


def dialogue_lengths(mask: Tensor) -> Tensor:
    """Lengths of padded dialogues, checking that padding sits at the end of each row.

    Args:
        mask: (B, T) bool, True = real utterance.

    Returns:
        (B,) long lengths, all >= 1.

    Raises:
        ValueError: if the mask is not bool, a row has no real utterance, or a row has padding
            before a real utterance.
    """
    if mask.dtype != torch.bool or mask.dim() != 2:
        raise ValueError(f"mask must be a (B, T) bool tensor, got {mask.dtype} of shape {tuple(mask.shape)}")
    lengths = mask.sum(dim=1)  # (B,)
    positions = torch.arange(mask.shape[1], device=mask.device)  # (T,)
    if not torch.equal(mask, positions < lengths[:, None]):
        raise ValueError("mask must be True on a prefix of each row (padding only at the end)")
    if bool((lengths == 0).any()):
        raise ValueError("every dialogue in the batch needs at least one real utterance")
    return lengths


def reverse_within_length(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first ``lengths[b]`` steps; padding stays at the end. Its own inverse.

    Args:
        x: (B, T, ...) tensor.
        lengths: (B,) long.
    """
    positions = torch.arange(x.shape[1], device=x.device)  # (T,)
    index = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)  # (B, T)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class DialogueRNN(nn.Module):
    """Speaker-aware recurrent context encoder (Majumder et al., AAAI 2019), vectorised over the batch.

    Global, party and emotion states all have size ``model_dim``; the context vector is a simple
    (learned-score) softmax attention over previous global states, accumulated online in O(1) memory.
    Padded steps are never computed (dialogues are packed), so padding cannot change any state; the
    only Python loop is over time steps, never over the batch.

    The backward direction runs a second DialogueRNN on each dialogue reversed within its own length.
    Outputs of the direction(s) are concatenated and mapped back to ``model_dim`` by Linear + ReLU; the
    unidirectional encoder keeps this Linear + ReLU too, so switching directions changes nothing else.

    Args:
        model_dim: input size and size of every state.
        num_parties: P, number of distinct party indices a dialogue may use.
        bidirectional: also run a backward DialogueRNN.
        listener_state: update listeners' party states too (with their own GRU).
        dropout: dropout on the emotion states.
    """

    def __init__(
        self,
        *,
        model_dim: int,
        num_parties: int,
        bidirectional: bool = False,
        listener_state: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        directions = 2 if bidirectional else 1
        self.bidirectional = bidirectional
        self.num_parties = num_parties
        self.core = DialogueRNNCore(
            num_streams=directions, dim=model_dim, num_parties=num_parties, listener_state=listener_state
        )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(directions * model_dim, model_dim)

    def forward(self, u: Tensor, party: Tensor, mask: Tensor) -> Tensor:
        """Encode each utterance in the context of its dialogue.

        Args:
            u: (B, T, model_dim) utterance representations.
            party: (B, T) long speaker party index, in [0, num_parties) at real positions; any value
                at padded positions.
            mask: (B, T) bool, True = real utterance, padding only at the end of each row.

        Returns:
            (B, T, model_dim) context-aware representations; padded positions hold a constant that
            does not depend on the input.
        """
        batch, steps, _ = u.shape
        lengths = dialogue_lengths(mask)
        streams = [u]
        if self.bidirectional:
            streams.append(reverse_within_length(u, lengths))
        lengths_cpu = lengths.cpu()
        packed = pack_padded_sequence(
            torch.stack(streams, dim=2), lengths_cpu, batch_first=True, enforce_sorted=False
        )  # data: (N, K, D)
        # A reversed dialogue has its speaker sequence reversed too.
        party_streams = [party] + ([reverse_within_length(party, lengths)] if self.bidirectional else [])
        party_packed = pack_padded_sequence(
            torch.stack(party_streams, dim=2), lengths_cpu, batch_first=True, enforce_sorted=False
        ).data.t()  # (K, N)
        if bool((party_packed < 0).any()) or bool((party_packed >= self.num_parties).any()):
            raise ValueError(
                f"party indices at real utterances must lie in [0, {self.num_parties}), got values in "
                f"[{int(party_packed.min())}, {int(party_packed.max())}]"
            )
        emotion = self.core(
            packed.data.transpose(0, 1), party_packed, packed.batch_sizes.tolist()
        )  # (K, N, D)
        emotion = self.dropout(emotion.transpose(0, 1))  # (N, K, D)
        padded, _ = pad_packed_sequence(
            PackedSequence(emotion, packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
            batch_first=True,
            total_length=steps,
        )  # (B, T, K, D)
        if self.bidirectional:
            padded = torch.stack([padded[:, :, 0], reverse_within_length(padded[:, :, 1], lengths)], dim=2)
        return torch.relu(self.out(padded.reshape(batch, steps, -1)))  # (B, T, D)
