import pytest

from multiemo.models import ModelConfig


def test_defaults_are_valid_and_from_dict_freezes_lists():
    config = ModelConfig.from_dict({"modalities": ["text", "audio"], "context_modalities": ["audio"]})
    assert config.modalities == ("text", "audio")
    assert config.context_modalities == ("audio",)
    assert ModelConfig() == ModelConfig.from_dict({})
    hash(config)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"context_modalities": ("audio", "smell")}, "smell"),
        ({"model_dim": 30, "num_heads": 4}, "30"),
        ({"dropout": -0.1}, "dropout"),
        ({"rnn_dropout": 1.0}, "rnn_dropout"),
        ({"modality_dropout": -0.5}, "modality_dropout"),
        ({"modalities": ()}, "modalities"),
        ({"modalities": ("text", "text"), "context_modalities": ()}, "repeat"),
        ({"modalities": "text"}, "modalities"),
        ({"num_layers": 0}, "num_layers"),
        ({"model_dim": 2.5}, "model_dim"),
        ({"modalities": ("text", "a.b"), "context_modalities": ()}, "a.b"),
        ({"bidirectional": "false"}, "bidirectional"),
    ],
)
def test_invalid_values_raise_naming_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**kwargs)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ValueError, match="model_dimm"):
        ModelConfig.from_dict({"model_dimm": 8})
