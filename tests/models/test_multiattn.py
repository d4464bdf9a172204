import torch

from multiemo.models import MultiAttn
from multiemo.models.multiattn import CrossAttention

DIM = 8


def _fusion(modalities, **kwargs):
    torch.manual_seed(0)
    args = {"model_dim": DIM, "num_heads": 2, "hidden_dim": 16, "num_layers": 2} | kwargs
    return MultiAttn(modalities=modalities, **args).eval()


def test_shapes_and_one_sublayer_per_other_modality(make_batch):
    fusion = _fusion(("text", "audio", "visual"))
    features, _, mask = make_batch([3, 5], dict.fromkeys(("text", "audio", "visual"), DIM))
    out = fusion(features, mask)
    assert {m: tuple(x.shape) for m, x in out.items()} == dict.fromkeys(
        ("text", "audio", "visual"), (2, 5, DIM)
    )
    assert all(len(layer.attentions) == 2 for layers in fusion.layers.values() for layer in layers)
    assert len(fusion.layers["text"]) == 2


def test_single_modality_is_identity_without_parameters(make_batch):
    fusion = _fusion(("text",))
    features, _, mask = make_batch([3, 5], {"text": DIM})
    assert not list(fusion.parameters())
    assert fusion(features, mask)["text"] is features["text"]


def test_padded_utterances_are_never_attended(make_batch):
    dims = dict.fromkeys(("text", "audio"), DIM)
    fusion = _fusion(("text", "audio"))
    clean, _, mask = make_batch([2, 6], dims)
    dirty, _, _ = make_batch([2, 6], dims, garbage=1e4)
    a, b = fusion(clean, mask), fusion(dirty, mask)
    for m in dims:
        assert torch.isfinite(b[m]).all()
        torch.testing.assert_close(a[m][mask], b[m][mask], atol=1e-6, rtol=0)


def test_modalities_really_interact(make_batch):
    dims = dict.fromkeys(("text", "audio"), DIM)
    fusion = _fusion(("text", "audio"))
    features, _, mask = make_batch([4], dims)
    changed = dict(features, audio=features["audio"] + 1)
    assert not torch.allclose(fusion(features, mask)["text"], fusion(changed, mask)["text"])


def test_attention_on_real_tokens_equals_dense_masked_attention():
    torch.manual_seed(0)
    attention = CrossAttention(model_dim=DIM, num_heads=2)
    lengths = torch.tensor([9, 2, 5, 8, 1])
    mask = torch.arange(9) < lengths[:, None]
    x, context = torch.randn(5, 9, DIM), torch.randn(5, 9, DIM)
    out = attention(x[mask], context[mask], mask)  # (N, D)

    def heads(t):
        return t.view(5, 9, 2, -1).transpose(1, 2)

    q, (k, v) = attention.query(x), attention.key_value(context).chunk(2, dim=-1)
    scores = heads(q) @ heads(k).transpose(-1, -2) / (DIM // 2) ** 0.5  # (B, H, T, T)
    weights = scores.masked_fill(~mask[:, None, None, :], float("-inf")).softmax(-1)
    dense = attention.out((weights @ heads(v)).transpose(1, 2).reshape(5, 9, DIM))
    torch.testing.assert_close(out, dense[mask], atol=1e-6, rtol=1e-5)


def test_checkpointing_changes_neither_outputs_nor_gradients(make_batch):
    """Recomputed layers replay the same dropout masks: outputs and every gradient are identical."""
    mods = ("text", "audio", "visual")
    features, _, mask = make_batch([3, 7, 5], dict.fromkeys(mods, DIM))
    results = []
    for checkpoint in (False, True):
        fusion = _fusion(mods, dropout=0.3, checkpoint=checkpoint).train()
        inputs = {m: x.clone().requires_grad_() for m, x in features.items()}
        torch.manual_seed(1)
        out = fusion(inputs, mask)
        loss = sum((x * torch.arange(x.numel()).view_as(x).sin()).sum() for x in out.values())
        loss.backward()
        results.append((out, {m: x.grad for m, x in inputs.items()},
                        {n: p.grad for n, p in fusion.named_parameters()}))
    (out_a, in_a, par_a), (out_b, in_b, par_b) = results
    for a, b in ((out_a, out_b), (in_a, in_b), (par_a, par_b)):
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_fast_path_equals_plain_attention_outputs_and_gradients(make_batch):
    """attend_by_length (the default) against the plain padded attention, on lengths that form several
    blocks."""
    mods = ("text", "audio", "visual")
    features, _, mask = make_batch([9, 2, 5, 8, 1, 3], dict.fromkeys(mods, DIM), garbage=5.0)
    results = []
    for fast in (False, True):
        fusion = _fusion(mods, fast=fast).train()
        inputs = {m: x.clone().requires_grad_() for m, x in features.items()}
        out = fusion(inputs, mask)
        sum((x * torch.arange(x.numel()).view_as(x).cos()).sum() for x in out.values()).backward()
        results.append(({m: x[mask] for m, x in out.items()}, {m: x.grad for m, x in inputs.items()},
                        {n: p.grad for n, p in fusion.named_parameters()}))
    for plain, fast in zip(*results, strict=True):
        assert plain.keys() == fast.keys()
        for key in plain:
            torch.testing.assert_close(fast[key], plain[key], rtol=1e-5, atol=1e-6)
