import pytest
import torch

from multiemo.models import ModelConfig, MultiEMO

DIMS = {"text": 7, "audio": 5, "visual": 4}
CLASSES, PARTIES = 3, 3


def _model(**overrides):
    torch.manual_seed(0)
    config = ModelConfig(
        **{"model_dim": 8, "num_heads": 2, "hidden_dim": 16, "classifier_hidden": 8, "dropout": 0.0}
        | overrides
    )
    return MultiEMO(config=config, input_dims=DIMS, num_classes=CLASSES, num_parties=PARTIES)


@pytest.mark.parametrize("modalities", [("text",), ("audio", "text"), ("text", "audio", "visual")])
@pytest.mark.parametrize("fusion", [True, False])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("context", [0, 1, 3])
def test_shapes_for_every_modality_subset(make_batch, modalities, fusion, bidirectional, context):
    model = _model(
        modalities=modalities,
        context_modalities=modalities[:context],
        fusion=fusion,
        bidirectional=bidirectional,
    )
    features, party, mask = make_batch([3, 5], DIMS)
    out = model(features, party, mask)
    assert out.logits.shape == (2, 5, CLASSES)
    assert out.fused.shape == (2, 5, 8)
    assert list(out.modality) == list(modalities)
    assert all(x.shape == (2, 5, 8) for x in out.modality.values())


def test_fusion_switch_really_changes_the_model(make_batch):
    features, party, mask = make_batch([3, 5], DIMS)
    with_fusion, without = _model(fusion=True).eval(), _model(fusion=False).eval()
    assert not any(name.startswith("fusion.") for name, _ in without.named_parameters())
    assert any(name.startswith("fusion.") for name, _ in with_fusion.named_parameters())
    assert not torch.allclose(
        with_fusion(features, party, mask).logits, without(features, party, mask).logits
    )


def test_context_switch_controls_dialogue_rnns():
    assert _model(context_modalities=("audio", "visual")).context.num_encoders == 2
    assert _model(context_modalities=()).context is None
    uni = _model(context_modalities=("text",)).context
    bi = _model(context_modalities=("text",), bidirectional=True).context
    assert bi.out_weight.shape[1] == 2 * uni.out_weight.shape[1]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_never_influences_real_utterances(make_batch, bidirectional):
    """Dialogue 0 (5 utterances) gives the same outputs padded with zeros, padded with garbage
    (features and party indices), batched with a 9-utterance dialogue, or alone."""
    model = _model(
        context_modalities=("text", "audio", "visual"), bidirectional=bidirectional, listener_state=True
    ).eval()
    clean = make_batch([5, 9], DIMS)
    dirty = make_batch([5, 9], DIMS, garbage=1e3)
    alone_features = {m: x[:1, :5] for m, x in clean[0].items()}
    alone = model(alone_features, clean[1][:1, :5], clean[2][:1, :5])
    for batch in (clean, dirty):
        out = model(*batch)
        for name in ("logits", "fused"):
            torch.testing.assert_close(getattr(out, name)[0, :5], getattr(alone, name)[0], atol=1e-6, rtol=0)
        for m in DIMS:
            torch.testing.assert_close(out.modality[m][0, :5], alone.modality[m][0], atol=1e-6, rtol=0)


def test_missing_modality_ignores_its_feature_values(make_batch):
    model = _model(context_modalities=("text", "audio", "visual"), bidirectional=True).eval()
    features, party, mask = make_batch([4, 6], DIMS)
    present = {"visual": torch.rand(mask.shape, generator=torch.Generator().manual_seed(3)) < 0.5}
    changed = dict(features, visual=torch.where(present["visual"][..., None], features["visual"], torch.nan))
    a = model(features, party, mask, present)
    b = model(changed, party, mask, present)
    torch.testing.assert_close(a.logits, b.logits, atol=0, rtol=0)
    assert not torch.allclose(a.logits, model(features, party, mask).logits)


def test_modality_dropout_only_in_training_and_seeded(make_batch):
    model = _model(modality_dropout=0.5, dropout=0.0, rnn_dropout=0.0)
    features, party, mask = make_batch([4, 6], DIMS)
    model.eval()
    torch.testing.assert_close(model(features, party, mask).logits, model(features, party, mask).logits)
    model.train()
    torch.manual_seed(7)
    first = model(features, party, mask).logits
    torch.manual_seed(7)
    again = model(features, party, mask).logits
    torch.testing.assert_close(first, again, atol=0, rtol=0)
    assert not torch.allclose(first, model.eval()(features, party, mask).logits)


def test_every_parameter_gets_a_gradient(make_batch):
    model = _model(context_modalities=("text", "audio", "visual"), bidirectional=True, listener_state=True)
    features, party, mask = make_batch([4, 6], DIMS)
    present = {m: torch.rand(mask.shape) < 0.7 for m in DIMS}
    out = model(features, party, mask, present)
    (out.logits[mask].square().mean() + out.fused[mask].mean()).backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not no_grad


def test_forward_validates_inputs(make_batch):
    model = _model()
    features, party, mask = make_batch([3, 5], DIMS)
    with pytest.raises(ValueError, match="visual"):
        model({"text": features["text"], "audio": features["audio"]}, party, mask)
    with pytest.raises(ValueError, match="audio"):
        model(dict(features, audio=features["audio"][..., :2]), party, mask)
    with pytest.raises(ValueError, match="mask"):
        model(features, party, mask.long())
    holes = mask.clone()
    holes[1, 0] = False
    with pytest.raises(ValueError, match="prefix"):
        _model(context_modalities=(), fusion=False)(features, party, holes)
    with pytest.raises(ValueError, match="present"):
        model(features, party, mask, {"text": mask.float()})
