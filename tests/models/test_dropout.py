"""The rand-based dropout: keep rate, scaling, gradient and evaluation behaviour of nn.Dropout."""

import pytest
import torch

from multiemo.models.dropout import Dropout, dropout


def test_keeps_the_right_share_scaled_and_passes_gradient_through_the_mask():
    torch.manual_seed(0)
    x = torch.ones(200_000, requires_grad=True)
    y = dropout(x, 0.1, training=True)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(0.9, abs=0.005)  # 200k draws: sd ~0.0007
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.9))
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.9)


def test_identity_in_evaluation_and_at_zero_and_seeded():
    x = torch.randn(64, 8)
    module = Dropout(0.5).eval()
    assert module(x) is x
    assert dropout(x, 0.0, training=True) is x
    torch.manual_seed(3)
    a = dropout(x, 0.5, training=True)
    torch.manual_seed(3)
    torch.testing.assert_close(dropout(x, 0.5, training=True), a)


@pytest.mark.parametrize("p", [-0.1, 1.0, True])
def test_rejects_bad_probability(p):
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(p)
