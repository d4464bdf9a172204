"""Dropout's fast mask against torch's dropout: same keep rate, scaling, gradient and eval behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from multiemo.models.dropout import Dropout
from multiemo.models.multiattn import MultiAttn

N = 1 << 20  # elements: the keep rate's standard error is sqrt(p (1 - p) / N) <= 5e-4


def _bound(p: float) -> float:
    return 6 * math.sqrt(p * (1 - p) / N)  # six standard errors: a false failure is ~1e-9 likely


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("fast", [True, False])
def test_keep_rate_and_scaling(p, fast):
    torch.manual_seed(0)
    y = Dropout(p, fast=fast).train()(torch.ones(N))
    kept = y != 0
    assert abs(kept.float().mean().item() - (1 - p)) < _bound(p)
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / (1 - p)), rtol=1e-4, atol=0)
    assert abs(y.mean().item() - 1) < _bound(p) / (1 - p)  # the expectation is the input


@pytest.mark.parametrize("fast", [True, False])
def test_identity_in_eval_mode_and_for_p_zero(fast):
    x = torch.randn(64, 32)
    assert Dropout(0.5, fast=fast).eval()(x) is x
    assert Dropout(0.0, fast=fast).train()(x) is x


def test_gradient_is_the_mask_times_the_scale():
    torch.manual_seed(0)
    x = torch.randn(512, 256, requires_grad=True)
    y = Dropout(0.3).train()(x)
    grad = torch.randn_like(y)
    y.backward(grad)
    keep = y.detach() != 0
    scale = y.detach()[keep] / x.detach()[keep]
    torch.testing.assert_close(scale, torch.full_like(scale, 1 / 0.7), rtol=1e-4, atol=0)
    torch.testing.assert_close(x.grad, grad * keep * scale[0])


def test_fast_and_plain_agree_in_distribution():
    """Keep rates and the means of the kept outputs of the two paths agree within sampling error."""
    p, x = 0.2, torch.randn(N).abs() + 1
    torch.manual_seed(0)
    fast, plain = Dropout(p).train()(x), Dropout(p, fast=False).train()(x)
    assert not torch.equal(fast != 0, plain != 0)  # different masks, same law
    assert abs((fast != 0).float().mean() - (plain != 0).float().mean()) < 2 * _bound(p)
    assert abs(fast.mean() - plain.mean()) < 0.02 * x.mean()
    assert abs(fast.mean() - x.mean()) < 0.01 * x.mean()  # ~ 40 standard errors below this bound


def test_bfloat16_keeps_its_dtype_also_under_autocast():
    x = torch.randn(64, 32, dtype=torch.bfloat16)
    layer = Dropout(0.5).train()
    assert layer(x).dtype == torch.bfloat16
    with torch.autocast("cpu", dtype=torch.bfloat16):
        h = torch.nn.functional.linear(torch.randn(64, 32), torch.randn(16, 32))
        assert layer(h).dtype == torch.bfloat16


def test_checkpoint_replays_the_same_masks():
    """torch.utils.checkpoint restores the default generator: recomputed layers draw the same fast masks."""
    mods, mask = ("text", "audio"), torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    features = {m: torch.randn(2, 6, 16, generator=torch.Generator().manual_seed(i))
                for i, m in enumerate(mods)}
    grads = []
    for checkpoint in (False, True):
        torch.manual_seed(0)
        fusion = MultiAttn(modalities=mods, model_dim=16, num_heads=2, hidden_dim=32, num_layers=2,
                           dropout=0.5, checkpoint=checkpoint).train()
        inputs = {m: x.clone().requires_grad_() for m, x in features.items()}
        torch.manual_seed(1)
        sum(y.sin().sum() for y in fusion(inputs, mask).values()).backward()
        grads.append([x.grad for x in inputs.values()] + [q.grad for q in fusion.parameters()])
    assert sum(isinstance(m, Dropout) for m in fusion.modules()) == 8  # 2 modalities x 2 layers x 2
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
