"""bfloat16 mixed precision: products in bfloat16, states and outputs in float32, results near float32's."""

import sys
from pathlib import Path

import pytest
import torch

from multiemo.models import ModelConfig, MultiEMO
from multiemo.models.precision import autocast_dtype, compute_dtype, resolve_precision
from multiemo.models.step_product import StepProduct

DIMS = {"text": 24, "audio": 12, "visual": 16}


def _model(**overrides):
    torch.manual_seed(0)
    config = ModelConfig(**{"model_dim": 32, "num_heads": 4, "hidden_dim": 64, "num_layers": 2,
                            "classifier_hidden": 32, "dropout": 0.0, "rnn_dropout": 0.0,
                            "bidirectional": True} | overrides)
    return MultiEMO(config=config, input_dims=DIMS, num_classes=4, num_parties=3)


def _recurrence(weight, bias, x_steps, compute):
    """h_t = tanh(h_{t-1} W + b + x_t): StepProduct in bfloat16, or the same casts written for autograd."""
    product = StepProduct(weight, bias, compute_dtype=torch.bfloat16) if compute == "step" else None
    h = x_steps[0].new_zeros(x_steps[0].shape)
    total = 0.0
    for t, x in enumerate(x_steps):
        h = h[:, : x.shape[1]]
        if product is not None:
            pre = product(t, h, add=x)
        else:
            pre = torch.bmm(h.bfloat16(), weight.bfloat16()).float() + (x + bias)
        h = torch.tanh(pre)
        total = total + (h * (t + 1)).sum()
    return total


def test_step_product_in_bfloat16_matches_autograd_through_the_same_casts():
    torch.manual_seed(0)
    k, rows, dim = 2, 6, 16
    weight = (0.3 * torch.randn(k, dim, dim)).requires_grad_()
    bias = (0.1 * torch.randn(k, 1, dim)).requires_grad_()
    x = [torch.randn(k, max(1, rows - t // 8), dim, requires_grad=True) for t in range(40)]
    expected_loss = _recurrence(weight, bias, x, "reference")
    expected = torch.autograd.grad(expected_loss, (weight, bias, *x))
    loss = _recurrence(weight, bias, x, "step")
    got = torch.autograd.grad(loss, (weight, bias, *x))
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, expected_loss, rtol=1e-6, atol=0)  # identical forward arithmetic
    # the weight gradient is summed over steps in another order (and rounding) than autograd's
    for g, e in zip(got, expected, strict=True):
        assert g.dtype == torch.float32
        torch.testing.assert_close(g, e, rtol=2e-2, atol=2e-2 * e.abs().max().item())


def test_bf16_model_is_close_to_fp32_and_returns_float32(make_batch):
    features, party, mask = make_batch([9, 4, 6], DIMS)
    model = _model().eval()
    reference = model(features, party, mask)
    model.precision = "bf16"
    out = model(features, party, mask)
    for a, b in [(out.logits, reference.logits), (out.fused, reference.fused),
                 *((out.modality[m], reference.modality[m]) for m in DIMS)]:
        assert a.dtype == torch.float32
        assert not torch.equal(a[mask], b[mask])  # bfloat16 products really ran
        scale = b[mask].abs().max().item()
        torch.testing.assert_close(a[mask], b[mask], rtol=0, atol=0.03 * scale)
    model.precision = "fp32"
    assert torch.equal(model(features, party, mask).logits, reference.logits)


def test_bf16_gradients_are_close_to_fp32(make_batch):
    features, party, mask = make_batch([9, 4, 6], DIMS)
    grads = {}
    for precision in ("fp32", "bf16"):
        model = _model().train()
        model.precision = precision
        out = model(features, party, mask)
        (out.logits[mask].logsumexp(-1).sum() + out.fused[mask].square().mean()).backward()
        grads[precision] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    assert torch.isfinite(grads["bf16"]).all()
    cosine = torch.nn.functional.cosine_similarity(grads["bf16"], grads["fp32"], dim=0)
    assert cosine > 0.999


def test_checkpointed_fusion_replays_mixed_precision_exactly(make_batch):
    """Recomputation runs under the autocast state of the forward pass: same outputs and gradients."""
    features, party, mask = make_batch([9, 4, 6], DIMS)
    results = []
    for checkpoint in (False, True):
        model = _model(dropout=0.3).train()
        model.precision = "bf16"
        model.fusion.checkpoint = checkpoint
        torch.manual_seed(1)
        out = model(features, party, mask)
        out.logits[mask].logsumexp(-1).sum().backward()
        results.append((out.logits, [p.grad for p in model.parameters()]))
    (logits_a, grads_a), (logits_b, grads_b) = results
    torch.testing.assert_close(logits_a, logits_b, rtol=0, atol=0)
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_dialogue_rnn_keeps_float32_state_under_autocast(make_batch):
    features, party, mask = make_batch([5, 3], {"text": 32})
    model = _model()
    rnn = model.context
    u = torch.stack([features["text"]] * rnn.num_encoders)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert autocast_dtype("cpu") == torch.bfloat16
        out = rnn(u, party, mask)
    assert autocast_dtype("cpu") is None
    assert out.dtype == torch.bfloat16  # the output Linear runs under autocast like any other product
    torch.testing.assert_close(out.float(), rnn(u, party, mask), rtol=0, atol=0.05)


def test_unknown_precision_is_rejected(make_batch):
    with pytest.raises(ValueError, match="precision must be one of"):
        compute_dtype("fp16")
    model = _model()
    model.precision = "half"
    features, party, mask = make_batch([3], DIMS)
    with pytest.raises(ValueError, match="precision must be one of"):
        model(features, party, mask)


def test_auto_is_bf16_exactly_where_the_cpu_has_bfloat16_instructions():
    flags = set()
    if sys.platform.startswith("linux"):
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("flags", "features")):
                flags.update(line.split())
    native = bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})
    assert resolve_precision("auto", torch.device("cpu")) == ("bf16" if native else "fp32")
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"  # asked for: emulated if need be
    with pytest.raises(ValueError, match="precision must be one of"):
        resolve_precision("fp16", torch.device("cpu"))


def test_gru_gates_kept_in_bfloat16_change_only_the_backward_rounding():
    from multiemo.models.dialogue_rnn_core import _gru

    torch.manual_seed(0)
    gi, gh, h = (torch.randn(2, 5, 3 * 16), torch.randn(2, 5, 3 * 16), torch.randn(2, 5, 16))
    results = []
    for save_dtype in (None, torch.bfloat16):
        inputs = [x.clone().requires_grad_() for x in (gi, gh, h)]
        out = _gru(*inputs, save_dtype)
        (out * torch.linspace(-1, 1, 16)).sum().backward()
        results.append((out, [x.grad for x in inputs]))
    (out_a, grads_a), (out_b, grads_b) = results
    assert torch.equal(out_a, out_b)
    for a, b in zip(grads_a, grads_b, strict=True):
        assert b.dtype == torch.float32
        torch.testing.assert_close(b, a, rtol=0, atol=0.02 * a.abs().max().item())
