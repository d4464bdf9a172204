import pytest
import torch
from torch import nn

from multiemo.models import DialogueRNN
from multiemo.models.dialogue_rnn import DialogueRNNCore

DIM, PARTIES = 6, 3


def _cells(core, s):
    """nn.GRUCells holding stream s's weights: g, p, l (or None) and e, in the paper's equations."""
    gates = 3 * DIM

    def cell(in_weights, in_bias, hidden_weight, hidden_bias):
        c = nn.GRUCell(sum(w.shape[0] for w in in_weights), DIM)
        c.weight_ih.data = torch.cat(in_weights, dim=0).t().contiguous()
        c.bias_ih.data = in_bias.clone()
        c.weight_hh.data = hidden_weight.t().contiguous()
        c.bias_hh.data = hidden_bias.clone()
        return c

    u_w, u_b, c_w = core.u_weight[s], core.u_bias[s, 0], core.c_weight[s]
    g = cell([u_w[:, :gates], core.gq_weight[s]], u_b[:gates], core.g_weight[s], core.g_bias[s, 0])
    p = cell(
        [u_w[:, gates : 2 * gates], c_w[:, :gates]],
        u_b[gates : 2 * gates],
        core.p_weight[s],
        core.p_bias[s, 0],
    )
    lst = None
    if core.listener_state:
        lst = cell(
            [u_w[:, 2 * gates :], c_w[:, gates:]], u_b[2 * gates :], core.l_weight[s], core.l_bias[s, 0]
        )
    e = cell([core.e_in_weight[s]], core.e_in_bias[s, 0], core.e_weight[s], core.e_bias[s, 0])
    return g, p, lst, e, core.score[s, :, 0]


@torch.no_grad()
def _naive_stream(core, s, u, party):
    """One dialogue, one direction, step by step, storing the whole global-state history."""
    g_cell, p_cell, l_cell, e_cell, w = _cells(core, s)
    g, e = torch.zeros(1, DIM), torch.zeros(1, DIM)
    q = torch.zeros(PARTIES, DIM)
    history, outputs = [], []
    for t in range(u.shape[0]):
        speaker, u_t = int(party[t]), u[t : t + 1]
        q_s = q[speaker : speaker + 1]
        g = g_cell(torch.cat([u_t, q_s], dim=1), g)
        if history:
            past = torch.cat(history)  # (t, D)
            c = (torch.softmax(past @ w, dim=0)[:, None] * past).sum(0, keepdim=True)
        else:
            c = torch.zeros(1, DIM)
        history.append(g)
        new_q_s = p_cell(torch.cat([u_t, c], dim=1), q_s)
        if l_cell is not None:
            q = l_cell(torch.cat([u_t, c], dim=1).expand(PARTIES, -1), q)
        q = q.clone()
        q[speaker] = new_q_s[0]
        e = e_cell(new_q_s, e)
        outputs.append(e)
    return torch.cat(outputs)  # (T, D)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("listener_state", [False, True])
@pytest.mark.parametrize("encoders", [1, 2])
def test_matches_naive_reference(make_batch, bidirectional, listener_state, encoders):
    torch.manual_seed(0)
    rnn = DialogueRNN(
        model_dim=DIM,
        num_parties=PARTIES,
        num_encoders=encoders,
        bidirectional=bidirectional,
        listener_state=listener_state,
    ).eval()
    lengths = [4, 7, 1, 7]
    features, party, mask = make_batch(lengths, {f"x{i}": DIM for i in range(encoders)}, garbage=5.0)
    u = torch.stack(list(features.values()))  # (E, B, T, D)
    out = rnn(u if encoders > 1 else u[0], party, mask)  # (E, B, T, D) or (B, T, D)
    out = out if encoders > 1 else out[None]
    assert out.shape == u.shape
    for i in range(encoders):
        for b, n in enumerate(lengths):
            x, p = u[i, b, :n], party[b, :n]
            parts = [_naive_stream(rnn.core, i, x, p)]
            if bidirectional:
                parts.append(_naive_stream(rnn.core, encoders + i, x.flip(0), p.flip(0)).flip(0))
            with torch.no_grad():
                expected = torch.relu(torch.cat(parts, dim=1) @ rnn.out_weight[i] + rnn.out_bias[i])
            torch.testing.assert_close(out[i, b, :n], expected, atol=1e-5, rtol=1e-5)
        assert not out[i][~mask].any()


def test_rejects_padding_before_real_utterances_and_bad_parties(make_batch):
    rnn = DialogueRNN(model_dim=DIM, num_parties=PARTIES)
    features, party, mask = make_batch([3, 5], {"x": DIM})
    holes = mask.clone()
    holes[1, 1] = False
    with pytest.raises(ValueError, match="prefix"):
        rnn(features["x"], party, holes)
    with pytest.raises(ValueError, match="at least one"):
        rnn(features["x"], party, torch.zeros_like(mask))
    bad = party.clone()
    bad[0, 0] = PARTIES
    with pytest.raises(ValueError, match="party"):
        rnn(features["x"], bad, mask)


@pytest.mark.parametrize("listener_state", [False, True])
def test_gradients_match_finite_differences(listener_state):
    """The packed, batched recurrence is differentiable end to end (float64 finite differences)."""
    torch.manual_seed(0)
    core = DialogueRNNCore(num_streams=2, dim=3, num_parties=2, listener_state=listener_state).double()
    batch_sizes = [3, 3, 2, 1]  # dialogues of lengths 4, 3, 2, packed time-major
    u = torch.randn(2, sum(batch_sizes), 3, dtype=torch.float64, requires_grad=True)
    party = torch.randint(0, 2, (2, sum(batch_sizes)))
    names, params = zip(*core.named_parameters(), strict=True)

    def run(u, *params):
        return torch.func.functional_call(
            core, dict(zip(names, params, strict=True)), (u, party, batch_sizes)
        )

    assert torch.autograd.gradcheck(run, (u, *params), fast_mode=True)
