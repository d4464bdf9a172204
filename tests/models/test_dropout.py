"""The random-bits dropout: keep rate, scaling, gradient and evaluation behaviour of nn.Dropout."""

import pytest
import torch

from multiemo.models.dropout import Dropout, dropout, keep_mask


def test_keeps_the_right_share_scaled_and_passes_gradient_through_the_mask():
    torch.manual_seed(0)
    x = torch.ones(200_000, requires_grad=True)
    y = dropout(x, 0.1, training=True)
    kept = y != 0
    q = 6554 / 65536  # 0.1 rounded to 16 bits
    assert kept.float().mean().item() == pytest.approx(1 - q, abs=0.005)  # 200k draws: sd ~0.0007
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / (1 - q)))
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / (1 - q))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_mask_is_unbiased_at_every_position_of_the_64_bit_word(p):
    torch.manual_seed(1)
    keep, q = keep_mask((100_000, 4), p)  # column j = 16-bit slice j of one random int64
    assert q == round(p * 65536) / 65536
    drop_rate = 1 - keep.float().mean(dim=0)  # sd ~0.0016 at p = 0.5
    torch.testing.assert_close(drop_rate, torch.full((4,), q), atol=0.007, rtol=0)


def test_mean_is_preserved_for_an_odd_sized_tensor():
    torch.manual_seed(2)
    y = dropout(torch.ones(3, 33_333), 0.3, training=True)  # not a multiple of 4 elements
    assert y.shape == (3, 33_333)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)


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
