"""StepProduct's deferred weight gradient equals autograd's, also when it is folded in chunks."""

import pytest
import torch

from multiemo.models.step_product import FLUSH_STEPS, StepProduct


def _recurrence(weight, bias, x_steps, deferred: bool):
    """h_t = tanh(h_{t-1} W + b + x_t) with rows leaving the batch over time; returns sum of all h_t."""
    product = StepProduct(weight, bias) if deferred else None
    h = x_steps[0].new_zeros(x_steps[0].shape)
    total = 0.0
    for t, x in enumerate(x_steps):
        h = h[:, : x.shape[1]]
        pre = product(t, h, add=x) if deferred else torch.baddbmm(bias + x, h, weight)
        h = torch.tanh(pre)
        total = total + (h * (t + 1)).sum()
    return total


@pytest.mark.parametrize("steps", [3, FLUSH_STEPS, 2 * FLUSH_STEPS + 5])
def test_deferred_gradient_matches_autograd(steps):
    torch.manual_seed(0)
    k, rows, dim = 2, 5, 4
    weight = (0.3 * torch.randn(k, dim, dim, dtype=torch.float64)).requires_grad_()
    bias = (0.1 * torch.randn(k, 1, dim, dtype=torch.float64)).requires_grad_()
    # rows drop out of the batch as dialogues end, as in packed DialogueRNN batches
    x = [torch.randn(k, max(1, rows - t // 8), dim, dtype=torch.float64, requires_grad=True) for t in range(steps)]

    expected = torch.autograd.grad(_recurrence(weight, bias, x, deferred=False), (weight, bias, *x))
    loss = _recurrence(weight, bias, x, deferred=True)
    got = torch.autograd.grad(loss, (weight, bias, *x), retain_graph=True)
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e)
    # a second backward over the retained graph gives the same gradient again
    again = torch.autograd.grad(loss, (weight, bias))
    for g, e in zip(again, expected[:2], strict=True):
        torch.testing.assert_close(g, e)
