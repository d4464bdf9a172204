import pytest
import torch

from multiemo.models import MultiAttn
from multiemo.models.token_layout import TokenLayout

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


def test_token_layout_round_trip():
    mask = torch.tensor([[True, True, False], [True, False, False]])
    layout = TokenLayout.from_mask(mask)
    x = torch.arange(6.0).view(2, 3, 1)
    assert layout.pack(x).flatten().tolist() == [0.0, 1.0, 3.0]
    assert torch.equal(layout.unpack(layout.pack(x)), x * mask[..., None])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"model_dim": 9}, "9"), ({"num_layers": 0}, "num_layers"), ({"dropout": -1.0}, "dropout")],
)
def test_constructor_validates(kwargs, message):
    with pytest.raises(ValueError, match=message):
        _fusion(("text", "audio"), **kwargs)
    with pytest.raises(ValueError, match="distinct"):
        _fusion(("text", "text"))
