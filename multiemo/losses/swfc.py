"""Sample-Weighted Focal Contrastive (SWFC) loss of MultiEMO (Shi & Huang, ACL 2023)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import Function


def _class_weights(class_counts: Sequence[float] | torch.Tensor, power: float) -> torch.Tensor:
    """Per-class weights ``(total / count_c) ** power``, L1-normalised; classes never seen weigh 0.

    Args:
        class_counts: per-class training counts, shape (C,).
        power: exponent; larger values favour minority classes more strongly.

    Returns:
        Weights of shape (C,) in the default float dtype, summing to 1.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64).detach().cpu()
    if counts.ndim != 1 or counts.numel() == 0:
        raise ValueError(f"class_counts must be a non-empty 1-D sequence, got shape {tuple(counts.shape)}")
    if not torch.isfinite(counts).all() or (counts < 0).any():
        raise ValueError(f"class_counts must be finite and non-negative, got {counts.tolist()}")
    if not (counts > 0).any():
        raise ValueError(f"class_counts needs at least one positive count, got {counts.tolist()}")
    seen = counts > 0
    # Unseen classes would give total/0 = inf; they never occur as labels, so weight 0 is harmless.
    weights = torch.where(seen, counts.sum() / counts.where(seen, torch.ones_like(counts)), 0.0)
    weights = torch.where(seen, weights.pow(power), 0.0)
    return (weights / weights.sum()).to(torch.get_default_dtype())


class SWFCLoss(nn.Module):
    """Supervised contrastive loss with a focal term and per-class sample weights.

    For L2-normalised features z and an anchor i, ``p_ij`` is the softmax over all other samples
    j != i of ``z_i . z_j / temperature`` (the anchor itself is left out of the denominator).
    With ``P(i)`` the anchor's positives (j != i with the same label) and ``w`` the class weights::

        loss = -(1/N) * sum_i  w[y_i] * mean_{j in P(i)}  log(p_ij) * (1 - p_ij) ** focus

    Anchors without a positive contribute 0, but N stays the full batch size (as in the paper's code).
    The focal factor puts more weight on hard positive pairs (small ``p_ij``); the class weights on
    minority classes. The N x N similarities are worked through in chunks of anchors, with the gradient
    computed on the way (see :class:`_SWFC`): memory O(N * chunk), never O(N^2 * D), and nothing N x N
    is kept for the backward pass.

    The loss sees only real utterances: callers select them first (e.g. ``features[mask]``).

    Args:
        class_counts: per-class counts in the training set, shape (C,). Class weight
            ``w_c = (total / count_c) ** sample_weight_power``, L1-normalised; count 0 gives weight 0.
        temperature: softmax temperature, > 0; smaller values sharpen the penalty on hard negatives.
        focus: focal exponent, >= 0; 0 turns the focal factor off.
        sample_weight_power: exponent of the class weights; 0 weighs all seen classes equally.
    """

    class_weights: torch.Tensor

    def __init__(
        self,
        class_counts: Sequence[float] | torch.Tensor,
        temperature: float,
        focus: float,
        sample_weight_power: float,
    ) -> None:
        super().__init__()
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a finite number > 0, got {temperature}")
        if not (math.isfinite(focus) and focus >= 0):
            raise ValueError(f"focus must be a finite number >= 0, got {focus}")
        if not math.isfinite(sample_weight_power):
            raise ValueError(f"sample_weight_power must be finite, got {sample_weight_power}")
        self.temperature = float(temperature)
        self.focus = float(focus)
        # A buffer follows the module through .to(device) / .double() and into the state dict.
        self.register_buffer("class_weights", _class_weights(class_counts, sample_weight_power))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            features: (N, D) float features of real utterances.
            labels: (N,) integer class indices in ``[0, C)``.

        Returns:
            Scalar loss. For N < 2 a zero that is still connected to ``features``, so ``backward``
            always works.
        """
        if features.ndim != 2 or labels.ndim != 1 or features.shape[0] != labels.shape[0]:
            raise ValueError(
                f"expected features (N, D) and labels (N,), "
                f"got {tuple(features.shape)} and {tuple(labels.shape)}"
            )
        n = features.shape[0]
        if n < 2:
            return (features * 0).sum()
        num_classes = self.class_weights.shape[0]
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"labels must lie in [0, {num_classes}), got {labels.unique().tolist()}")

        z = F.normalize(features, dim=-1)  # (N, D)
        positive_counts = torch.bincount(labels, minlength=num_classes)[labels] - 1  # (N,) excluding self
        weights = self.class_weights.to(features.dtype)[labels]  # (N,)
        coef = weights / positive_counts.clamp_min(1) / n  # (N,) anchors without positives add 0 anyway
        need_grad = torch.is_grad_enabled() and z.requires_grad
        return _SWFC.apply(z, labels, coef, self.temperature, self.focus, need_grad)


# Anchors (rows of the N x N similarity matrix) handled at once: a few (ANCHOR_CHUNK, N) tensors live
# at a time instead of a dozen (N, N) ones, and each chunk stays in cache while it is worked on.
ANCHOR_CHUNK = 256


class _SWFC(Function):
    """The SWFC loss of L2-normalised features, with its gradient computed during the forward pass.

    For anchor i and candidate j != i, with s_ij = z_i . z_j / temperature, l_ij = log p_ij =
    s_ij - logsumexp_{k != i} s_ik and q_ij = 1 - p_ij, the loss is -sum_i coef_i sum_{j in P(i)} f(l_ij)
    with f(l) = l * q^focus, so

        dL/dl_ij = -coef_i [j in P(i)] f'(l_ij),  f'(l) = q^focus - focus * l * p * q^(focus - 1)
        dL/ds_ij = A_ij - p_ij * sum_k A_ik      (A = dL/dl; the softmax's Jacobian)
        dL/dz    = (G + G^T) z / temperature     (G = dL/ds)

    Rows are processed in chunks; each chunk adds its share of dL/dz (G_chunk z for its anchors, and
    G_chunk^T z_chunk for every candidate), so the backward pass is one multiplication by the incoming
    gradient. Double backward is not supported.
    """

    @staticmethod
    def forward(ctx, z, labels, coef, temperature, focus, need_grad):
        n = z.shape[0]
        tiny = torch.finfo(z.dtype).tiny
        loss = z.new_zeros(())
        grad = torch.zeros_like(z) if need_grad else None
        for lo in range(0, n, ANCHOR_CHUNK):
            rows = torch.arange(lo, min(lo + ANCHOR_CHUNK, n), device=z.device)  # (R,)
            local = torch.arange(len(rows), device=z.device)
            s = z[rows] @ z.T / temperature  # (R, N)
            # Masking before the softmax (not subtracting exp(self) afterwards) keeps log-sum-exp stable.
            s[local, rows] = torch.finfo(z.dtype).min
            log_p = s.sub_(torch.logsumexp(s, dim=1, keepdim=True))  # (R, N), in place
            # expm1 keeps 1 - p accurate when p is near 1; the clamp keeps q^(focus - 1) finite at p == 1
            # (e.g. a single candidate), where the focal term and its true gradient are both 0.
            q = torch.expm1(log_p).neg_().clamp_min_(tiny)  # (R, N) 1 - p
            q_focus = q.pow(focus)  # (R, N)
            positive = labels[rows, None] == labels[None, :]  # (R, N)
            positive[local, rows] = False
            # where() rather than multiply: masked-out entries must not leak the diagonal's huge log_p.
            focal = torch.where(positive, log_p * q_focus, 0.0).sum(dim=1)  # (R,)
            loss -= (coef[rows] * focal).sum()
            if grad is not None:
                p = 1.0 - q
                d_focal = q_focus - focus * log_p * p * q_focus / q  # (R, N) f'(l)
                a = torch.where(positive, d_focal, 0.0).mul_(-coef[rows, None])  # (R, N) dL/dl
                g = a.sub_(p * a.sum(dim=1, keepdim=True))  # (R, N) dL/ds; the diagonal's p is 0
                grad[rows] += g @ z
                grad += g.T @ z[rows]
        if grad is not None:
            ctx.save_for_backward(grad.div_(temperature))
        return loss

    @staticmethod
    def backward(ctx, grad_loss):
        (grad,) = ctx.saved_tensors
        return grad * grad_loss, None, None, None, None, None


def build(train, class_counts: torch.Tensor) -> SWFCLoss:
    """The objective's SWFC loss from the train settings (``swfc_*``)."""
    return SWFCLoss(class_counts=class_counts, temperature=train.swfc_temperature, focus=train.swfc_focus,
                    sample_weight_power=train.swfc_sample_weight_power)


def apply(loss: SWFCLoss, out, keep: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """SWFC over the fused features of the kept utterances; keep (B, T) bool, labels (N,)."""
    return loss(out.fused[keep], labels)  # (N, D) against (N,)
