"""The model under the trainer's bfloat16 autocast: states stay float32, results stay near float32's."""

import torch

from multiemo.models import ModelConfig, MultiEMO

DIMS = {"text": 24, "audio": 12, "visual": 16}


def _model(**overrides):
    torch.manual_seed(0)
    config = ModelConfig(**{"model_dim": 32, "num_heads": 4, "hidden_dim": 64, "num_layers": 2,
                            "classifier_hidden": 32, "dropout": 0.0, "rnn_dropout": 0.0,
                            "bidirectional": True} | overrides)
    return MultiEMO(config=config, input_dims=DIMS, num_classes=4, num_parties=3)


def _bf16():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_model_has_no_precision_of_its_own():
    assert not hasattr(_model(), "precision")


def test_bf16_autocast_is_close_to_fp32(make_batch):
    features, party, mask = make_batch([9, 4, 6], DIMS)
    model = _model().eval()
    reference = model(features, party, mask)
    with _bf16():
        out = model(features, party, mask).float()
    for a, b in [(out.logits, reference.logits), (out.fused, reference.fused),
                 *((out.modality[m], reference.modality[m]) for m in DIMS)]:
        assert a.dtype == torch.float32
        assert not torch.equal(a[mask], b[mask])  # bfloat16 products really ran
        torch.testing.assert_close(a[mask], b[mask], rtol=0, atol=0.03 * b[mask].abs().max().item())
    assert torch.equal(model(features, party, mask).logits, reference.logits)  # nothing sticks


def test_bf16_gradients_are_close_to_fp32(make_batch):
    features, party, mask = make_batch([9, 4, 6], DIMS)
    grads = {}
    for precision in ("fp32", "bf16"):
        model = _model().train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(features, party, mask)
        out = out.float()
        (out.logits[mask].logsumexp(-1).sum() + out.fused[mask].square().mean()).backward()
        grads[precision] = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    assert torch.isfinite(grads["bf16"]).all()
    cosine = torch.nn.functional.cosine_similarity(grads["bf16"], grads["fp32"], dim=0)
    assert cosine > 0.999


def test_checkpointed_fusion_replays_autocast_exactly(make_batch):
    """Recomputation runs under the autocast state of the forward pass: same outputs and gradients."""
    features, party, mask = make_batch([9, 4, 6], DIMS)
    results = []
    for checkpoint in (False, True):
        torch.manual_seed(0)
        model = MultiEMO(config=_model(dropout=0.3).config, input_dims=DIMS, num_classes=4, num_parties=3,
                         checkpoint_fusion=checkpoint).train()
        torch.manual_seed(1)
        with _bf16():
            out = model(features, party, mask)
        out.logits[mask].float().logsumexp(-1).sum().backward()
        results.append((out.logits, [p.grad for p in model.parameters()]))
    (logits_a, grads_a), (logits_b, grads_b) = results
    torch.testing.assert_close(logits_a, logits_b, rtol=0, atol=0)
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_dialogue_rnn_keeps_float32_state_under_autocast(make_batch):
    """Products run in bfloat16; adding the float32 biases brings the gates and states back to float32."""
    features, party, mask = make_batch([5, 3], {"text": 32})
    rnn = _model().context
    u = torch.stack([features["text"]] * rnn.num_encoders)
    with _bf16():
        out = rnn(u, party, mask)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, rnn(u, party, mask), rtol=0, atol=0.05)
