"""DialogueRNN's fast path (``fast=True``, see ``step_product``) against the plain one (``fast=False``)."""

import contextlib

import pytest
import torch

from multiemo.models import DialogueRNN

DIM, PARTIES, LENGTHS = 6, 3, [5, 19, 1, 12]  # 19 steps: more than one fold of FOLD_STEPS


def _run(rnn, fast, features, party, mask, autocast):
    """Output and gradients (w.r.t. the input, then every parameter) of a fixed random readout."""
    rnn.core.fast = fast
    rnn.zero_grad()
    u = features.clone().requires_grad_(True)
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    with ctx:
        out = rnn(u, party, mask)
    readout = torch.randn(out.shape, generator=torch.Generator().manual_seed(1))
    (out.float() * readout).sum().backward()
    return out.float(), [u.grad] + [p.grad for p in rnn.parameters()]


@pytest.mark.parametrize("autocast", [False, True], ids=["float32", "bf16-autocast"])
@pytest.mark.parametrize("bidirectional,listener_state", [(False, False), (True, False), (True, True)])
def test_fast_path_equals_plain_path(make_batch, autocast, bidirectional, listener_state):
    torch.manual_seed(0)
    rnn = DialogueRNN(model_dim=DIM, num_parties=PARTIES, bidirectional=bidirectional,
                      listener_state=listener_state)
    features, party, mask = make_batch(LENGTHS, {"x": DIM}, garbage=5.0)
    fast_out, fast_grads = _run(rnn, True, features["x"], party, mask, autocast)
    plain_out, plain_grads = _run(rnn, False, features["x"], party, mask, autocast)
    atol, rtol = (5e-2, 5e-2) if autocast else (1e-5, 1e-5)
    torch.testing.assert_close(fast_out, plain_out, atol=atol, rtol=rtol)
    assert len(fast_grads) == len(plain_grads) and all(g is not None for g in fast_grads + plain_grads)
    for (name, _), fast, plain in zip([("u", None), *rnn.named_parameters()], fast_grads, plain_grads):
        scale = plain.abs().max()  # gradients differ in size; compare each relative to its largest entry
        torch.testing.assert_close(fast / scale, plain / scale, atol=atol, rtol=rtol, msg=name)


@pytest.mark.parametrize("listener_state", [False, True])
def test_padding_never_changes_real_outputs_on_fast_path(make_batch, listener_state):
    torch.manual_seed(0)
    rnn = DialogueRNN(model_dim=DIM, num_parties=PARTIES, bidirectional=True, listener_state=listener_state)
    features, party, mask = make_batch(LENGTHS, {"x": DIM}, garbage=5.0)
    batch_out, grads = _run(rnn, True, features["x"], party, mask, autocast=False)
    assert torch.all(grads[0][~mask] == 0)  # no gradient reaches padding
    for b, length in enumerate(LENGTHS):  # each dialogue alone, unpadded
        alone, _ = _run(rnn, True, features["x"][b : b + 1, :length], party[b : b + 1, :length],
                        mask[b : b + 1, :length], autocast=False)
        torch.testing.assert_close(batch_out[b, :length], alone[0], atol=1e-6, rtol=1e-5)
