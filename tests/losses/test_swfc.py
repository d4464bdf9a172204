"""SWFCLoss against a slow loop reference, plus edge cases, validation and a memory bound."""

import math
import re

import pytest
import torch

from multiemo.losses import SWFCLoss


def reference_swfc(features, labels, counts, temperature, focus, power):
    """Direct per-anchor transcription of the paper's formula, in float64."""
    total = sum(counts)
    raw = [(total / c) ** power if c > 0 else 0.0 for c in counts]
    weights = [w / sum(raw) for w in raw]
    z = [f / f.norm() for f in features.double()]
    n = len(z)
    loss = 0.0
    for i in range(n):
        others = [j for j in range(n) if j != i]
        denom = sum(math.exp(float(z[i] @ z[j]) / temperature) for j in others)
        terms = []
        for j in others:
            if labels[j] == labels[i]:
                p = math.exp(float(z[i] @ z[j]) / temperature) / denom
                terms.append(math.log(p) * (1 - p) ** focus)
        if terms:
            loss += weights[int(labels[i])] * sum(terms) / len(terms)
    return -loss / n


def make_double(*args):
    """Build the loss in float64: class weights are made in the default dtype, and float32 rounding
    of them would otherwise dominate the comparison with the float64 reference."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return SWFCLoss(*args)
    finally:
        torch.set_default_dtype(previous)


@pytest.mark.parametrize(
    "temperature, focus, power",
    [(0.5, 0.0, 0.0), (0.07, 2.0, 1.0), (1.0, 0.5, 0.5), (2.0, 1.0, 2.0)],
)
def test_matches_loop_reference(temperature, focus, power):
    gen = torch.Generator().manual_seed(0)
    # Class 3 has a single sample (no positive); class 4 never occurs (count 0, weight 0).
    labels = torch.tensor([0, 1, 2, 0, 1, 0, 3, 2, 0, 1, 1])
    counts = [40, 25, 10, 3, 0]
    features = torch.randn(len(labels), 6, generator=gen, dtype=torch.float64)
    loss_fn = make_double(counts, temperature, focus, power)
    got = loss_fn(features, labels)
    want = reference_swfc(features, labels, counts, temperature, focus, power)
    assert got.item() == pytest.approx(want, rel=1e-10, abs=1e-12)


def test_gradients_are_finite():
    gen = torch.Generator().manual_seed(1)
    features = torch.randn(9, 5, generator=gen, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 0, 2, 3])
    SWFCLoss([5, 5, 5, 1], 0.1, 0.5, 1.0)(features, labels).backward()
    assert features.grad is not None and torch.isfinite(features.grad).all()
    assert features.grad.abs().sum() > 0


def test_single_candidate_pair_has_finite_gradient():
    # N = 2 with equal labels: p = 1 exactly, where (1 - p) ** focus has an infinite slope for focus < 1.
    features = torch.randn(2, 3, requires_grad=True)
    loss = SWFCLoss([2], 0.5, 0.5, 1.0)(features, torch.tensor([0, 0]))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(features.grad).all()


def test_no_positive_pairs_gives_exact_zero():
    features = torch.randn(4, 3, requires_grad=True)
    loss = SWFCLoss([1, 1, 1, 1], 0.1, 2.0, 1.0)(features, torch.tensor([0, 1, 2, 3]))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(features.grad).all()


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_batches_give_zero_with_grad(n):
    features = torch.randn(n, 3, requires_grad=True)
    loss = SWFCLoss([1, 1], 0.1, 1.0, 1.0)(features, torch.zeros(n, dtype=torch.long))
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    assert features.grad.shape == (n, 3)


def test_invariant_to_feature_scale():
    features = torch.randn(8, 4, dtype=torch.float64)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0, 1])
    loss_fn = make_double([3, 3, 2], 0.3, 1.0, 1.0)
    assert loss_fn(features, labels).item() == pytest.approx(
        loss_fn(17.0 * features, labels).item(), rel=1e-12
    )


def test_is_stateless_and_weights_are_a_buffer():
    loss_fn = SWFCLoss([3, 1, 0], 0.3, 1.0, 1.0)
    assert "class_weights" in dict(loss_fn.named_buffers())
    assert loss_fn.class_weights.tolist() == pytest.approx([0.25, 0.75, 0.0])
    features, labels = torch.randn(6, 4), torch.tensor([0, 1, 0, 1, 0, 1])
    assert loss_fn(features, labels).item() == loss_fn(features, labels).item()


@pytest.mark.parametrize(
    "kwargs, bad",
    [
        ({"temperature": 0.0}, "0.0"),
        ({"temperature": -1.0}, "-1.0"),
        ({"focus": -0.5}, "-0.5"),
        ({"class_counts": [3, -1]}, "-1"),
        ({"class_counts": [0, 0]}, "[0.0, 0.0]"),
        ({"class_counts": []}, "shape"),
    ],
)
def test_constructor_rejects_bad_values(kwargs, bad):
    args = {"class_counts": [3, 2], "temperature": 0.1, "focus": 1.0, "sample_weight_power": 1.0} | kwargs
    with pytest.raises(ValueError, match=re.escape(bad)):
        SWFCLoss(**args)


def test_forward_rejects_bad_inputs():
    loss_fn = SWFCLoss([3, 2], 0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        loss_fn(torch.randn(3, 4), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="expected features"):
        loss_fn(torch.randn(3, 4), torch.tensor([0, 1]))


def test_autograd_graph_holds_no_n_by_n_by_d_tensor():
    n, d = 3000, 256
    largest = []

    def pack(t):
        largest.append(t.numel())
        return t

    features = torch.randn(n, d, requires_grad=True)
    labels = torch.randint(0, 7, (n,))
    loss_fn = SWFCLoss([1] * 7, 0.1, 2.0, 1.0)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = loss_fn(features, labels)
    assert largest and max(largest) <= 4 * n * n
    loss.backward()
    assert torch.isfinite(features.grad).all()


@pytest.mark.parametrize("focus", [0.0, 0.5, 2.0])
def test_gradcheck(focus):
    gen = torch.Generator().manual_seed(2)
    features = torch.randn(6, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 1, 2])
    loss_fn = make_double([2, 3, 1], 0.5, focus, 1.0)
    assert torch.autograd.gradcheck(lambda f: loss_fn(f, labels), (features,))


def test_anchor_chunks_do_not_change_loss_or_gradient(monkeypatch):
    """Rows are processed ANCHOR_CHUNK at a time; a chunk size that splits the batch unevenly
    gives the same loss and gradient as one chunk, and the gradient still passes gradcheck."""
    from multiemo.losses import swfc

    gen = torch.Generator().manual_seed(4)
    labels = torch.tensor([0, 1, 2, 0, 1, 0, 3, 2, 0, 1, 1])
    features = torch.randn(len(labels), 5, generator=gen, dtype=torch.float64, requires_grad=True)
    loss_fn = make_double([40, 25, 10, 3], 0.3, 2.4, 1.1)
    results = []
    for chunk in (len(labels), 4):
        monkeypatch.setattr(swfc, "ANCHOR_CHUNK", chunk)
        loss = loss_fn(features, labels)
        (grad,) = torch.autograd.grad(loss, features)
        results.append((loss, grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])
    assert torch.autograd.gradcheck(lambda f: loss_fn(f, labels), (features,))
