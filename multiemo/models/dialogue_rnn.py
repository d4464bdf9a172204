"""DialogueRNN context encoder on padded, batch-first dialogues."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from multiemo.models.dialogue_packing import DialoguePacking
from multiemo.models.dialogue_rnn_core import DialogueRNNCore
from multiemo.models.dropout import Dropout
from multiemo.models.precision import autocast_dtype


class DialogueRNN(nn.Module):
    """Speaker-aware recurrent context encoder (Majumder et al., AAAI 2019), vectorised over the batch.

    Global, party and emotion states all have size ``model_dim``; the context vector is a simple
    (learned-score) softmax attention over previous global states, accumulated online in O(1) memory.
    Dialogues are packed, so padded steps are never computed and cannot change any state; the only
    Python loop is over time steps, never over the batch.

    ``num_encoders`` independent encoders (own weights, e.g. one per modality) can run in lock-step on
    the same dialogues; each step is then one batched matrix product for all of them, which is much
    faster than separate modules on a CPU.

    The backward direction runs a second DialogueRNN on each dialogue reversed within its own length.
    Per encoder, the direction outputs are concatenated and mapped to ``model_dim`` by Linear + ReLU;
    the unidirectional encoder keeps this Linear + ReLU too, so switching directions changes nothing
    else.

    Args:
        model_dim: input size and size of every state.
        num_parties: P, number of distinct party indices a dialogue may use.
        num_encoders: E, number of independent encoders.
        bidirectional: also run a backward DialogueRNN per encoder.
        listener_state: update listeners' party states too (with their own GRU).
        dropout: dropout on the emotion states.
    """

    def __init__(
        self,
        *,
        model_dim: int,
        num_parties: int,
        num_encoders: int = 1,
        bidirectional: bool = False,
        listener_state: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        if isinstance(num_encoders, bool) or not isinstance(num_encoders, int) or num_encoders < 1:
            raise ValueError(f"num_encoders must be a positive integer, got {num_encoders!r}")
        directions = 2 if bidirectional else 1
        self.num_encoders = num_encoders
        self.bidirectional = bidirectional
        self.num_parties = num_parties
        # Streams: all encoders' forward directions, then all backward ones.
        self.core = DialogueRNNCore(
            num_streams=directions * num_encoders,
            dim=model_dim,
            num_parties=num_parties,
            listener_state=listener_state,
        )
        self.dropout = Dropout(dropout)
        self.out_weight = nn.Parameter(torch.empty(num_encoders, directions * model_dim, model_dim))
        self.out_bias = nn.Parameter(torch.empty(num_encoders, 1, model_dim))
        bound = 1.0 / math.sqrt(directions * model_dim)  # nn.Linear's default range
        nn.init.uniform_(self.out_weight, -bound, bound)
        nn.init.uniform_(self.out_bias, -bound, bound)

    def forward(self, u: Tensor, party: Tensor, mask: Tensor) -> Tensor:
        """Encode each utterance in the context of its dialogue.

        Args:
            u: (B, T, model_dim) utterance representations, or (E, B, T, model_dim) for E encoders.
            party: (B, T) long speaker party index, in [0, num_parties) at real positions; any value
                at padded positions.
            mask: (B, T) bool, True = real utterance, padding only at the end of each row.

        Returns:
            Same shape as ``u``: context-aware representations, zeros at padded positions.
        """
        single = u.dim() == 3
        inputs = u.unsqueeze(0) if single else u  # (E, B, T, D)
        if inputs.shape[0] != self.num_encoders:
            raise ValueError(f"expected inputs for {self.num_encoders} encoders, got shape {tuple(u.shape)}")
        packing = DialoguePacking.from_mask(mask)
        rows = packing.pack(inputs)  # (E, N, D)
        speakers = party.reshape(-1).index_select(0, packing.flat)  # (N,)
        if bool((speakers < 0).any()) or bool((speakers >= self.num_parties).any()):
            raise ValueError(
                f"party indices at real utterances must lie in [0, {self.num_parties}), got values in "
                f"[{int(speakers.min())}, {int(speakers.max())}]"
            )
        streams, stream_speakers = [rows], [speakers.expand(self.num_encoders, -1)]
        if self.bidirectional:  # a reversed dialogue: reversed inputs and reversed speaker sequence
            streams.append(rows.index_select(1, packing.reverse))
            stream_speakers.append(speakers[packing.reverse].expand(self.num_encoders, -1))
        stream_inputs = torch.cat(streams)  # (K, N, D)
        # Under mixed precision the core's products run in the autocast dtype, its states in float32.
        compute_dtype = autocast_dtype(u.device.type)
        if compute_dtype is not None:
            stream_inputs = stream_inputs.float()
        with torch.autocast(u.device.type, enabled=False):
            emotion = self.core(
                stream_inputs, torch.cat(stream_speakers), packing.batch_sizes, compute_dtype
            )  # (K, N, D), K = directions * E
        if self.bidirectional:  # align backward outputs with forward rows, directions side by side
            forward_rows, backward_rows = emotion.chunk(2)
            emotion = torch.cat([forward_rows, backward_rows.index_select(1, packing.reverse)], dim=-1)
        emotion = self.dropout(emotion)  # (E, N, directions * D)
        out = torch.relu(torch.baddbmm(self.out_bias, emotion, self.out_weight))  # (E, N, D)
        out = packing.unpack(out)  # (E, B, T, D)
        return out.squeeze(0) if single else out
