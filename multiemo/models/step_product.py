"""Per-step matrix products of a recurrence whose weight gradient is computed once, for all steps.

Autograd would compute the weight gradient of ``h_t @ W`` at every step, as a product with only the
n_t rows of that step, and then add it to a running sum: many small, slow products and much memory
traffic. :class:`StepProduct` records each step's input and output gradient instead and computes
``dW = sum_t h_t^T dy_t`` as a single large product after backpropagation through time has finished.
The result is the same gradient, to floating point rounding; double backward is not supported.
Recorded gradients are folded into the weight gradient every ``FLUSH_STEPS`` steps, so at most that many
steps' gradients are held at once (holding all of them cost ~400 MB on an IEMOCAP batch).

With a ``compute_dtype`` (bfloat16 under mixed precision) the products take inputs and weights in that
dtype and return the weight's dtype; the recorded inputs are kept in the compute dtype (half the memory)
and the weight gradient is accumulated in the weight's dtype.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function

# Steps whose output gradients are kept before they are folded into the weight gradient: enough rows
# (steps x dialogues) for one efficient product, few enough to keep the backward pass's memory flat.
FLUSH_STEPS = 16


class StepProduct:
    """``y_t = h_t @ W (+ bias) (+ add_t)`` for the steps t of one forward pass, batched over streams.

    Make one per forward pass; call it once per step. Outside autograd (``torch.no_grad`` or frozen
    weights) it is a plain batched product.

    Args:
        weight: (K, I, O) stacked weights, one per stream.
        bias: optional (K, 1, O).
        compute_dtype: dtype of the products' inputs (e.g. torch.bfloat16); None: the weight's dtype.
    """

    def __init__(
        self, weight: Tensor, bias: Tensor | None = None, compute_dtype: torch.dtype | None = None
    ) -> None:
        self.record = _Record(weight.detach(), None if bias is None else bias.detach(), compute_dtype)
        params = [p for p in (weight, bias) if p is not None]
        deferred = torch.is_grad_enabled() and any(p.requires_grad for p in params)
        # The token carries no data; every step's product depends on it, so autograd runs its backward
        # (the weight gradient) only after all steps have recorded their output gradients. The nodes
        # hold the record, not this object, so no reference cycle keeps the graph alive.
        self.token = _WeightGrad.apply(self.record, weight, bias) if deferred else None

    def __call__(self, step: int, x: Tensor, add: Tensor | None = None) -> Tensor:
        """Args: step: index of the step (unique per call); x: (K, n, I); add: optional (K, n, O),
        gets its gradient as usual. Returns (K, n, O)."""
        if self.token is None:
            return self.record.product(x, add)
        self.record.inputs[step] = x.detach().to(self.record.weight.dtype)
        return _Product.apply(self.record, step, x, add, self.token)


class _Record:
    """Weights, and per step the inputs and output gradients, shared by the autograd nodes."""

    def __init__(self, weight: Tensor, bias: Tensor | None, compute_dtype: torch.dtype | None) -> None:
        self.dtype = weight.dtype  # of outputs and gradients
        self.weight = weight if compute_dtype is None else weight.to(compute_dtype)
        self.bias = bias
        self.inputs: dict[int, Tensor] = {}
        self.grads: dict[int, Tensor] = {}
        self.grad_weight: Tensor | None = None  # sum over the steps already folded in
        self.grad_bias: Tensor | None = None

    def fold(self) -> None:
        """Add the recorded steps' share of the weight (and bias) gradient to the sums; drop their gradients."""
        if not self.grads:
            return
        steps = sorted(self.grads)
        grads = torch.cat([self.grads.pop(s) for s in steps], dim=1)  # (K, rows, O)
        # inputs stay: a backward pass with retain_graph=True may come again
        inputs = torch.cat([self.inputs[s] for s in steps], dim=1)  # (K, rows, I), compute dtype
        grad_weight = torch.bmm(inputs.transpose(1, 2), grads.to(inputs.dtype)).to(self.dtype)  # (K, I, O)
        self.grad_weight = grad_weight if self.grad_weight is None else self.grad_weight.add_(grad_weight)
        if self.bias is not None:
            grad_bias = grads.sum(dim=1, keepdim=True)  # (K, 1, O)
            self.grad_bias = grad_bias if self.grad_bias is None else self.grad_bias.add_(grad_bias)

    def product(self, x: Tensor, add: Tensor | None) -> Tensor:
        base = add if self.bias is None else (self.bias if add is None else add + self.bias)
        if self.weight.dtype != self.dtype:  # mixed precision: no baddbmm across dtypes
            y = torch.bmm(x.to(self.weight.dtype), self.weight).to(self.dtype)
            return y if base is None else y.add_(base)
        return torch.bmm(x, self.weight) if base is None else torch.baddbmm(base, x, self.weight)

    def input_grad(self, grad: Tensor) -> Tensor:
        weight = self.weight.transpose(1, 2)
        return torch.bmm(grad.to(weight.dtype), weight).to(self.dtype)


class _Product(Function):
    @staticmethod
    def forward(ctx, record, step, x, add, token):  # token: a graph dependency only
        ctx.record, ctx.step = record, step
        return record.product(record.inputs[step], add)  # x as recorded: already in the compute dtype

    @staticmethod
    def backward(ctx, grad):
        record = ctx.record
        record.grads[ctx.step] = grad
        if len(record.grads) >= FLUSH_STEPS:
            record.fold()
        grad_x = record.input_grad(grad) if ctx.needs_input_grad[2] else None
        return None, None, grad_x, grad if ctx.needs_input_grad[3] else None, None


class _WeightGrad(Function):
    @staticmethod
    def forward(ctx, record, weight, bias):
        ctx.record, ctx.has_bias = record, bias is not None
        return weight.new_empty(0)

    @staticmethod
    def backward(ctx, _):
        record = ctx.record
        record.fold()  # steps the gradient never reached contribute nothing
        grad_weight, grad_bias = record.grad_weight, record.grad_bias
        record.grad_weight = record.grad_bias = None
        return None, grad_weight, grad_bias if ctx.has_bias else None
