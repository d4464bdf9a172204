"""DialogueRNN context encoder (Majumder et al., AAAI 2019) on padded, batch-first dialogues."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from multiemo.models.dropout import Dropout
from multiemo.models.gru_update import GRUUpdate


def dialogue_lengths(mask: Tensor) -> Tensor:
    """(B,) lengths of a batch's dialogues, after checking the mask convention.

    Args:
        mask: (B, T) bool, True = real utterance, padding only at the end of each row.

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


def gru(gi: Tensor, gh: Tensor, h: Tensor) -> Tensor:
    """The update of :class:`torch.nn.GRUCell` from its gate pre-activations, biases included.

    Args:
        gi: (..., 3H) input-to-hidden part, gate order (r, z, n).
        gh: (..., 3H) hidden-to-hidden part; may broadcast against ``gi``.
        h: (..., H) previous state.

    Returns:
        (..., H) new state.
    """
    i_r, i_z, i_n = gi.chunk(3, dim=-1)
    h_r, h_z, h_n = gh.chunk(3, dim=-1)
    r, z = torch.sigmoid(i_r + h_r), torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h


class DialogueRNNCore(nn.Module):
    """K independent DialogueRNNs ("streams": one per modality and direction), all states of size ``dim``.

    Per step t, for speaker s = party[t]:
        g_t = GRU_g([u_t; q_s], g_{t-1})
        c_t = sum_i softmax_i(w . g_i) g_i over i < t (zero at t = 1)
        q_s <- GRU_p([u_t; c_t], q_s); listeners keep q_l, or with ``listener_state``
               q_l <- GRU_l([u_t; c_t], q_l)
        e_t = GRU_e(q_s, e_{t-1})
    The streams' weights are stacked on a leading axis, so each product is one ``bmm`` for all of them,
    and dialogues arrive packed (time-major, longest first), so a step computes only the dialogues still
    running: padding is never computed. The only Python loop is over time steps.

    Args:
        num_streams: K.
        dim: size of the input u_t and of the global, party and emotion states.
        num_parties: P, party states per dialogue.
        listener_state: also update the listeners' party states.
        fast: the GRU updates as single autograd nodes (:class:`~multiemo.models.gru_update.GRUUpdate`):
            the same outputs and gradients as :func:`gru`, less memory kept for the backward pass.
    """

    def __init__(self, *, num_streams: int, dim: int, num_parties: int, listener_state: bool,
                 fast: bool = True) -> None:
        super().__init__()
        self.dim, self.num_parties, self.listener_state = dim, num_parties, listener_state
        self.fast = fast
        gates, cells = 3 * dim, 2 if listener_state else 1  # GRU_p, and GRU_l for listeners

        def stack(rows: int, cols: int) -> nn.Parameter:  # one (rows, cols) matrix per stream
            bound = 1.0 / math.sqrt(dim)  # nn.GRUCell's default range
            return nn.Parameter(torch.empty(num_streams, rows, cols).uniform_(-bound, bound))

        # Products with u_t, for all steps at once: GRU_g's, GRU_p's (and GRU_l's) input parts.
        self.u_weight, self.u_bias = stack(dim, gates * (1 + cells)), stack(1, gates * (1 + cells))
        self.gq_weight = stack(dim, gates)  # GRU_g input part from q_s (its bias is in u_bias)
        self.g_weight, self.g_bias = stack(dim, gates), stack(1, gates)  # GRU_g hidden part
        self.c_weight = stack(dim, gates * cells)  # GRU_p (, GRU_l) input part from c_t
        self.p_weight, self.p_bias = stack(dim, gates), stack(1, gates)  # GRU_p hidden part
        self.e_in_weight, self.e_in_bias = stack(dim, gates), stack(1, gates)  # GRU_e input part
        self.e_weight, self.e_bias = stack(dim, gates), stack(1, gates)  # GRU_e hidden part
        if listener_state:
            self.l_weight, self.l_bias = stack(dim, gates), stack(1, gates)  # GRU_l hidden part
        self.score = stack(dim, 1)  # w in w . g_i; a bias would cancel in the softmax

    def forward(self, u: Tensor, party: Tensor, batch_sizes: list[int]) -> Tensor:
        """Run all streams over packed dialogues.

        Args:
            u: (K, N, dim) packed inputs, N = number of real utterances, time-major.
            party: (K, N) long speaker party index of each packed row, per stream.
            batch_sizes: non-increasing, length T_max: rows of step t (dialogues still running).

        Returns:
            (K, N, dim) emotion states e_t, packed like ``u``.
        """
        k, _, dim = u.shape
        gates = 3 * dim
        pre = torch.bmm(u, self.u_weight) + self.u_bias  # (K, N, gates * (1 + cells)): all steps at once
        pre_g, pre_party = pre.split([gates, pre.shape[-1] - gates], dim=-1)
        pre_g, pre_party, speaker = (x.split(batch_sizes, dim=1) for x in (pre_g, pre_party, party))
        is_speaker = F.one_hot(party, self.num_parties).bool().split(batch_sizes, dim=1)  # T x (K, n_t, P)
        g = e = pre.new_zeros(k, batch_sizes[0], dim)
        q = pre.new_zeros(k, batch_sizes[0], self.num_parties, dim)  # party states
        # c_t pools every earlier g_i, so a running softmax (max, denominator, weighted sum) replaces the
        # growing history: O(1) memory per dialogue instead of O(T) per step.
        pool = None
        outputs = []
        update = GRUUpdate.apply if self.fast else gru
        for t, n in enumerate(batch_sizes):
            g, e, q = g[:, :n], e[:, :n], q[:, :n]  # dialogues that ended leave the (longest-first) batch
            index = speaker[t].view(k, n, 1, 1).expand(k, n, 1, dim)
            q_s = q.gather(2, index).squeeze(2)  # (K, n, dim) speaker's party state
            g = update(pre_g[t] + torch.bmm(q_s, self.gq_weight), torch.bmm(g, self.g_weight) + self.g_bias,
                       g)

            gi_party = pre_party[t]  # (K, n, gates * cells)
            # w . g_t as a sum, not a bmm: autocast leaves it (and so the softmax pool) in float32
            score = (g * self.score.transpose(1, 2)).sum(-1, keepdim=True)  # (K, n, 1)
            if pool is None:
                pool = (score, torch.ones_like(score), g)
            else:  # c_t from the pool, then g_t joins it (online softmax: rescale when the max grows)
                peak, denom, total = (x[:, :n] for x in pool)
                gi_party = gi_party + torch.bmm(total / denom, self.c_weight)
                new_peak = torch.maximum(peak, score)
                old, new = torch.exp(peak - new_peak), torch.exp(score - new_peak)  # (K, n, 1)
                pool = (new_peak, denom * old + new, total * old + new * g)

            gh_p = torch.bmm(q_s, self.p_weight) + self.p_bias  # (K, n, gates)
            gi_p = gi_party
            if self.listener_state:
                gi_p, gi_l = gi_party.split(gates, dim=-1)
                gh_l = torch.bmm(q.reshape(k, n * self.num_parties, dim), self.l_weight) + self.l_bias
                q = update(gi_l[:, :, None], gh_l.view(k, n, self.num_parties, gates), q)  # (K, n, P, dim)
            new_q_s = update(gi_p, gh_p, q_s)  # (K, n, dim)
            q = torch.where(is_speaker[t][..., None], new_q_s[:, :, None], q)  # (K, n, P, dim)

            gi_e = torch.bmm(new_q_s, self.e_in_weight) + self.e_in_bias
            e = update(gi_e, torch.bmm(e, self.e_weight) + self.e_bias, e)  # (K, n, dim)
            outputs.append(e)
        return torch.cat(outputs, dim=1)  # (K, N, dim)


class DialogueRNN(nn.Module):
    """Speaker-aware context encoder: E independent DialogueRNNs (e.g. one per modality) in lock-step.

    The backward direction runs a second DialogueRNN on each dialogue reversed within its own length.
    Per encoder, the direction outputs are concatenated and mapped to ``model_dim`` by Linear + ReLU
    (kept when unidirectional too, so switching directions changes nothing else).

    Args:
        model_dim: input size and size of every state.
        num_parties: P, number of distinct party indices a dialogue may use.
        num_encoders: E, number of independent encoders.
        bidirectional: also run a backward DialogueRNN per encoder.
        listener_state: update listeners' party states too (with their own GRU).
        dropout: dropout on the emotion states.
        fast: the GRU updates' fast path (see :class:`DialogueRNNCore`).
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
        fast: bool = True,
    ) -> None:
        super().__init__()
        directions = 2 if bidirectional else 1
        self.num_encoders, self.num_parties, self.bidirectional = num_encoders, num_parties, bidirectional
        # Streams: all encoders' forward directions, then all backward ones.
        self.core = DialogueRNNCore(
            num_streams=directions * num_encoders,
            dim=model_dim,
            num_parties=num_parties,
            listener_state=listener_state,
            fast=fast,
        )
        self.dropout = Dropout(dropout)
        bound = 1.0 / math.sqrt(directions * model_dim)  # nn.Linear's default range
        out_weight = torch.empty(num_encoders, directions * model_dim, model_dim)
        self.out_weight = nn.Parameter(out_weight.uniform_(-bound, bound))
        self.out_bias = nn.Parameter(torch.empty(num_encoders, 1, model_dim).uniform_(-bound, bound))

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
        lengths = dialogue_lengths(mask)  # (B,)
        speakers = party[mask]
        if bool((speakers < 0).any()) or bool((speakers >= self.num_parties).any()):
            raise ValueError(f"party indices at real utterances must lie in [0, {self.num_parties}), "
                             f"got values in [{int(speakers.min())}, {int(speakers.max())}]")
        x = (u.unsqueeze(0) if u.dim() == 3 else u).permute(1, 2, 0, 3)  # (B, T, E, D)
        parties = party[..., None].expand(x.shape[:3])  # (B, T, E)
        steps = torch.arange(mask.shape[1], device=mask.device)
        reverse = torch.where(mask, lengths[:, None] - 1 - steps, steps)  # (B, T): t -> L - 1 - t
        if self.bidirectional:  # a reversed dialogue: reversed inputs and speaker sequence
            x = torch.cat([x, x.gather(1, reverse[..., None, None].expand(x.shape))], dim=2)  # (B, T, K, D)
            parties = torch.cat([parties, parties.gather(1, reverse[..., None].expand(parties.shape))], dim=2)
        # Time-major, longest dialogue first: the dialogues still running at step t are the first
        # batch_sizes[t] rows of that step, and padding is never computed.
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)  # (N, K, D)
        speaker_rows = pack_padded_sequence(parties, lengths.cpu(), batch_first=True, enforce_sorted=False)
        emotion = self.core(packed.data.transpose(0, 1), speaker_rows.data.T, packed.batch_sizes.tolist())
        emotion = packed._replace(data=emotion.transpose(0, 1))  # (N, K, D)
        out = pad_packed_sequence(emotion, batch_first=True, total_length=mask.shape[1])[0]  # (B, T, K, D)
        if self.bidirectional:  # backward outputs back in forward order, directions side by side
            forward_out, backward_out = out.chunk(2, dim=2)
            backward_out = backward_out.gather(1, reverse[..., None, None].expand(backward_out.shape))
            out = torch.cat([forward_out, backward_out], dim=-1)  # (B, T, E, 2D)
        out = torch.einsum("btec,ecd->ebtd", self.dropout(out), self.out_weight) + self.out_bias[:, None]
        out = torch.relu(out) * mask[..., None]  # (E, B, T, D), zeros at padded positions
        return out.squeeze(0) if u.dim() == 3 else out
