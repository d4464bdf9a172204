"""Soft-HGR correlation loss between modalities (Wang et al., AAAI 2019), as used by MultiEMO."""

from __future__ import annotations

from itertools import combinations

import torch
from torch import nn

COVARIANCE_MODES = ("feature", "legacy")


def _soft_hgr(f: torch.Tensor, g: torch.Tensor, cov_f: torch.Tensor, cov_g: torch.Tensor) -> torch.Tensor:
    """Soft-HGR objective of two centred feature sets.

    Args:
        f, g: (N, D) features, each centred over the N samples.
        cov_f, cov_g: (D, D) sample covariances of ``f`` and ``g``.

    Returns:
        Scalar ``E[f^T g] - 1/2 tr(cov_f cov_g)``.
    """
    inner = (f * g).sum() / (f.shape[0] - 1)
    # Both covariances are symmetric, so tr(A B) = sum(A * B): no matrix product needed.
    return inner - 0.5 * (cov_f * cov_g).sum()


def _legacy_soft_hgr(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The per-pair term of the original MultiEMO code, including its mistakes.

    Args:
        f, g: (N, D) raw features.

    Returns:
        Scalar ``mean_i <f_i, g_i> - tr(torch.cov(f) @ torch.cov(g)) / (2 N)``.
    """
    n, d = f.shape
    inner = (f * g).sum(dim=1).mean()  # not centred
    # torch.cov(f) treats each sample (row) as a variable observed D times: C_f = f_r f_r^T / (D - 1)
    # with rows centred over their own D entries. tr(C_f C_g) = ||f_r^T g_r||_F^2 / (D - 1)^2 gives
    # the same number from a (D, D) matrix instead of two (N, N) ones.
    f_r = f - f.mean(dim=1, keepdim=True)  # (N, D)
    g_r = g - g.mean(dim=1, keepdim=True)  # (N, D)
    trace = (f_r.T @ g_r).pow(2).sum() / (d - 1) ** 2
    return inner - trace / (2 * n)


class SoftHGRLoss(nn.Module):
    """Negative Soft-HGR correlation summed over all unordered pairs of modalities.

    For M inputs the loss is ``-sum_{a < b} h(f_a, f_b)``: pairs are summed, not averaged, as in the
    original code, so three modalities give three terms and two give one.

    ``covariance="feature"`` is Soft-HGR as defined by Wang et al. (2019). Each input is centred over
    the N samples and::

        h(f, g) = [sum_i <f_i, g_i> / (N - 1)  -  1/2 * tr(cov_f @ cov_g)] / D,
        cov_f = f^T f / (N - 1)  (D, D)

    Each pair's value is divided by D (a per-feature-dimension average): the optimum is unchanged, but
    the loss no longer grows with the model width, so one loss weight means the same thing at
    model_dim 64 and 256. Unscaled, at the paper's weight of 0.3 it outweighed cross-entropy and cost
    the demo corpus about 25 points of weighted-F1 (BENCHMARKS.md). It is invariant to adding a
    constant vector to all samples.

    ``covariance="legacy"`` reproduces the original MultiEMO ``SoftHGRLoss`` (TaoShi1998/MultiEMO,
    ``Loss/SoftHGRLoss.py``) exactly, so that published numbers can be matched::

        h(f, g) = mean_i <f_i, g_i>  -  tr(torch.cov(f) @ torch.cov(g)) / (2 N)
        loss    = -(1 / N) * sum_{a < b} h(f_a, f_b)

    It is not Soft-HGR: ``torch.cov`` on an (N, D) matrix treats the N samples as variables and the
    D feature entries as observations, so it yields an (N, N) matrix of each sample's spread across
    feature dimensions rather than the (D, D) feature covariance; the inner product is not centred;
    and the trace term and the total are each divided by N once more (the authors' stability tweak).
    Legacy mode needs D >= 2 (torch.cov divides by D - 1).

    Inputs are real utterances only; callers select them first (e.g. ``f[mask]``).

    Args:
        covariance: ``"feature"`` (correct) or ``"legacy"`` (original code).
    """

    def __init__(self, covariance: str = "feature") -> None:
        super().__init__()
        if covariance not in COVARIANCE_MODES:
            raise ValueError(f"covariance must be one of {COVARIANCE_MODES}, got {covariance!r}")
        self.covariance = covariance

    def forward(self, *features: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            *features: one (N, D) tensor per modality; all share N and D.

        Returns:
            Scalar loss. With fewer than two inputs or N < 2 there is no correlation to measure and
            the result is a zero still connected to the inputs, so ``backward`` always works.
        """
        if not features:
            raise ValueError("SoftHGRLoss needs at least one feature tensor")
        shapes = [tuple(f.shape) for f in features]
        if any(f.ndim != 2 for f in features) or len(set(shapes)) != 1:
            raise ValueError(f"all features must be (N, D) with the same N and D, got shapes {shapes}")
        n, d = shapes[0]
        if len(features) < 2 or n < 2:
            return sum((f * 0).sum() for f in features)
        pairs = list(combinations(range(len(features)), 2))

        if self.covariance == "legacy":
            if d < 2:
                raise ValueError(f"legacy covariance needs feature dimension D >= 2, got D={d}")
            return -sum(_legacy_soft_hgr(features[a], features[b]) for a, b in pairs) / n

        centred = [f - f.mean(dim=0, keepdim=True) for f in features]  # each (N, D)
        # Each covariance is shared by M - 1 pairs, so compute it once per modality.
        covs = [c.T @ c / (n - 1) for c in centred]  # each (D, D)
        return -sum(_soft_hgr(centred[a], centred[b], covs[a], covs[b]) for a, b in pairs) / d


def build(train, class_counts: torch.Tensor) -> SoftHGRLoss:
    """The objective's Soft-HGR loss from the train settings (``hgr_covariance``); it uses no labels."""
    del class_counts
    return SoftHGRLoss(covariance=train.hgr_covariance)


def apply(loss: SoftHGRLoss, out, keep: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Soft-HGR across the modality features of the kept utterances; keep (B, T) bool."""
    del labels
    return loss(*(v[keep] for v in out.modality.values()))  # each (N, D)
