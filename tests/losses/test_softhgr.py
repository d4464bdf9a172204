"""SoftHGRLoss: feature mode against a loop reference, legacy mode against the original formula."""

from itertools import combinations

import pytest
import torch

from multiemo.losses import SoftHGRLoss


def reference_feature_hgr(f, g):
    """Soft-HGR of Wang et al. (2019) written out element by element, in float64."""
    n, d = f.shape
    mean_f = [sum(f[i, k] for i in range(n)) / n for k in range(d)]
    mean_g = [sum(g[i, k] for i in range(n)) / n for k in range(d)]
    fc = [[f[i, k] - mean_f[k] for k in range(d)] for i in range(n)]
    gc = [[g[i, k] - mean_g[k] for k in range(d)] for i in range(n)]
    inner = sum(fc[i][k] * gc[i][k] for i in range(n) for k in range(d)) / (n - 1)
    cov_f = [[sum(fc[i][a] * fc[i][b] for i in range(n)) / (n - 1) for b in range(d)] for a in range(d)]
    cov_g = [[sum(gc[i][a] * gc[i][b] for i in range(n)) / (n - 1) for b in range(d)] for a in range(d)]
    trace = sum(cov_f[a][b] * cov_g[b][a] for a in range(d) for b in range(d))
    return float(inner - trace / 2)


def original_legacy_loss(*features):
    """Transcription of the original MultiEMO formula: torch.cov on the (N, D) matrix, extra 1/N twice."""
    n = features[0].shape[0]
    total = 0.0
    for f, g in combinations(features, 2):
        mapping = torch.mean(torch.sum(f * g, dim=-1), dim=0)
        covariance = torch.trace(torch.matmul(torch.cov(f), torch.cov(g))) / n
        total = total + mapping - covariance / 2
    return -total / n


def make_features(m, n=7, d=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=gen, dtype=torch.float64) + 0.3 * k for k in range(m)]


@pytest.mark.parametrize("m", [2, 3])
def test_feature_mode_matches_loop_reference(m):
    features = make_features(m)
    d = features[0].shape[1]  # the loss is the per-dimension average of Soft-HGR
    want = -sum(reference_feature_hgr(f, g) for f, g in combinations(features, 2)) / d
    assert SoftHGRLoss("feature")(*features).item() == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("m, n, d", [(2, 7, 4), (3, 7, 4), (3, 5, 9)])
def test_legacy_mode_matches_original_formula(m, n, d):
    features = make_features(m, n, d)
    want = original_legacy_loss(*features).item()
    assert SoftHGRLoss("legacy")(*features).item() == pytest.approx(want, rel=1e-10)


def test_feature_mode_is_invariant_to_a_constant_shift():
    features = make_features(3)
    shift = torch.tensor([5.0, -2.0, 0.5, 3.0], dtype=torch.float64)
    loss_fn = SoftHGRLoss("feature")
    shifted = [f + shift for f in features]
    assert loss_fn(*features).item() == pytest.approx(loss_fn(*shifted).item(), rel=1e-10)


@pytest.mark.parametrize("mode", ["feature", "legacy"])
def test_three_inputs_sum_the_three_pairs(mode):
    a, b, c = make_features(3)
    loss_fn = SoftHGRLoss(mode)
    pairs = loss_fn(a, b) + loss_fn(a, c) + loss_fn(b, c)
    assert loss_fn(a, b, c).item() == pytest.approx(pairs.item(), rel=1e-10)


@pytest.mark.parametrize("mode", ["feature", "legacy"])
def test_gradients_are_finite(mode):
    features = [f.float().requires_grad_() for f in make_features(3)]
    SoftHGRLoss(mode)(*features).backward()
    for f in features:
        assert torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ["feature", "legacy"])
@pytest.mark.parametrize("m, n", [(1, 5), (2, 1), (3, 0)])
def test_degenerate_inputs_give_zero_with_grad(mode, m, n):
    features = [torch.randn(n, 4, requires_grad=True) for _ in range(m)]
    loss = SoftHGRLoss(mode)(*features)
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    assert all(torch.isfinite(f.grad).all() for f in features)


def test_rejects_unknown_mode_and_mismatched_shapes():
    with pytest.raises(ValueError, match="'sample'"):
        SoftHGRLoss("sample")
    with pytest.raises(ValueError, match=r"\(5, 4\), \(6, 4\)"):
        SoftHGRLoss()(torch.randn(5, 4), torch.randn(6, 4))
    with pytest.raises(ValueError, match="at least one"):
        SoftHGRLoss()()
    with pytest.raises(ValueError, match="D=1"):
        SoftHGRLoss("legacy")(torch.randn(5, 1), torch.randn(5, 1))


@pytest.mark.parametrize("mode", ["feature", "legacy"])
def test_gradcheck(mode):
    features = tuple(f.requires_grad_() for f in make_features(3, n=5, d=3))
    assert torch.autograd.gradcheck(SoftHGRLoss(mode), features)
