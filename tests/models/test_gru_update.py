"""The GRU updates' fast path (one autograd node, multiemo/models/gru_update.py) against the plain update:
the same outputs and gradients to the last bit, and less memory kept for the backward pass."""

import pytest
import torch

from multiemo.models import DialogueRNN
from multiemo.models.dialogue_rnn import gru
from multiemo.models.gru_update import GRUUpdate

DIM, PARTIES = 8, 3


def _run(fast, u, party, mask, *, bidirectional, listener_state, bf16):
    """Outputs and every gradient (inputs, then parameters) of one forward and backward pass."""
    torch.manual_seed(1)  # the same weights and dropout masks for both paths
    model = DialogueRNN(model_dim=DIM, num_parties=PARTIES, num_encoders=2, bidirectional=bidirectional,
                        listener_state=listener_state, dropout=0.1, fast=fast).train()
    u = u.clone().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        out = model(u, party, mask)
    weights = torch.linspace(-1, 1, out.numel()).view(out.shape)  # every output position matters
    (out.float() * weights).sum().backward()
    return [out.detach(), u.grad, *(p.grad for p in model.parameters())]


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("listener_state", [False, True])
def test_fast_path_equals_plain_bit_for_bit(make_batch, bf16, bidirectional, listener_state):
    features, party, mask = make_batch([7, 2, 5, 1, 7], {"a": DIM, "b": DIM}, num_parties=PARTIES)
    u = torch.stack([features["a"], features["b"]])  # (E=2, B, T, D)
    options = {"bidirectional": bidirectional, "listener_state": listener_state, "bf16": bf16}
    plain, fast = _run(False, u, party, mask, **options), _run(True, u, party, mask, **options)
    assert len(plain) == len(fast)
    for a, b in zip(plain, fast, strict=True):
        assert a is not None and torch.equal(a, b)


@pytest.mark.parametrize("shapes", [
    ((4, 3 * DIM), (4, 3 * DIM), (4, DIM)),
    ((2, 4, 1, 3 * DIM), (2, 4, PARTIES, 3 * DIM), (2, 4, PARTIES, DIM)),  # listeners: gi broadcasts
])
def test_one_update_equals_plain_with_broadcasting(shapes):
    inputs = [torch.randn(s, generator=torch.Generator().manual_seed(i)) for i, s in enumerate(shapes)]
    grad = torch.randn(shapes[2])
    results = []
    for update in (gru, GRUUpdate.apply):
        leaves = [x.clone().requires_grad_() for x in inputs]
        out = update(*leaves)
        out.backward(grad)
        results.append([out.detach(), *(x.grad for x in leaves)])
    for a, b in zip(*results, strict=True):
        assert a.shape == b.shape and torch.equal(a, b)


def _saved_bytes(update, gi, gh, h):
    """Bytes kept for backward beyond the state h, which the recurrence's next products keep anyway."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        update(gi, gh, h)
    storages.pop(h.untyped_storage().data_ptr(), None)
    return sum(storages.values())


def test_fast_path_keeps_less_for_backward():
    rows, h = 64, torch.randn(64, DIM, requires_grad=True)
    gi, gh = torch.randn(rows, 3 * DIM, requires_grad=True), torch.randn(rows, 3 * DIM, requires_grad=True)
    plain, fast = _saved_bytes(gru, gi, gh, h), _saved_bytes(GRUUpdate.apply, gi, gh, h)
    value = rows * DIM * 4  # one (rows, H) float32 tensor
    assert plain == 7 * value  # r, z, n, h - n and the whole (rows, 3H) gh, of which h_n is a view
    assert fast == 4 * value  # r, z, n and a copy of h_n
