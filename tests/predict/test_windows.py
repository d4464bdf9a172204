"""The model over long conversations: windows tile every dialogue, and one window equals one forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from multiemo.models import ModelConfig, MultiEMO
from multiemo.predict.windows import classify_windows, window_spans

DIMS = {"text": 6, "audio": 5, "visual": 4}


@pytest.mark.parametrize("length, window, context", [(5, 8, 2), (8, 8, 2), (9, 8, 2), (100, 16, 4),
                                                     (37, 5, 0)])
def test_cores_tile_the_dialogue_and_windows_contain_their_core(length, window, context):
    spans = window_spans(length, window, context)
    cores = np.concatenate([np.arange(c_lo, c_hi) for _, _, c_lo, c_hi in spans])
    np.testing.assert_array_equal(cores, np.arange(length))
    for lo, hi, c_lo, c_hi in spans:
        assert lo <= c_lo < c_hi <= hi and hi - lo == min(window, length)
        assert c_lo - lo >= min(context, c_lo) and hi - c_hi >= min(context, length - c_hi)


def test_window_arguments_are_checked():
    with pytest.raises(ValueError, match="window - 2 \\* context >= 1"):
        window_spans(10, 4, 2)


def model(bidirectional: bool = False) -> MultiEMO:
    torch.manual_seed(0)
    config = ModelConfig(model_dim=8, num_heads=2, hidden_dim=16, num_layers=1, classifier_hidden=8,
                         context_modalities=("text", "audio"), bidirectional=bidirectional)
    return MultiEMO(config=config, input_dims=DIMS, num_classes=3, num_parties=2).eval()


def inputs(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    features = {m: rng.normal(size=(n, d)).astype(np.float32) for m, d in DIMS.items()}
    present = {m: rng.random(n) > 0.2 for m in DIMS}
    return features, present


def test_one_window_equals_a_plain_forward_pass_per_dialogue():
    net = model(bidirectional=True)
    features, present = inputs(11)
    dialogues = np.array(["a"] * 7 + ["b"] * 4)
    speakers = np.array(list("ABABBAA") + list("CCDC"))
    probs, folded = classify_windows(net, features, present, dialogues, speakers, num_parties=2,
                                     window=16, context=2, progress=False)
    assert folded == 0
    for rows, party in ((slice(0, 7), [0, 1, 0, 1, 1, 0, 0]), (slice(7, 11), [0, 0, 1, 0])):
        n = rows.stop - rows.start
        with torch.no_grad():
            out = net({m: torch.from_numpy(v[rows])[None] for m, v in features.items()},
                      torch.tensor([party]), torch.ones(1, n, dtype=torch.bool),
                      {m: torch.from_numpy(p[rows])[None] for m, p in present.items()})
        np.testing.assert_allclose(probs[rows], out.logits[0].softmax(-1).numpy(), atol=1e-5)


def test_long_dialogue_is_predicted_window_by_window():
    net = model()
    features, present = inputs(50, seed=1)
    speakers = np.array(list("ABC") * 16 + ["A", "B"])
    probs, folded = classify_windows(net, features, present, np.zeros(50), speakers, num_parties=2,
                                     window=12, context=3, batch_size=2, progress=False)
    assert probs.shape == (50, 3) and np.allclose(probs.sum(1), 1, atol=1e-5)
    assert folded > 0  # a third speaker in each window shares the 2-party model's last party
    # A core utterance sees its window only: equal to a forward pass over that window.
    lo, hi, c_lo, c_hi = window_spans(50, 12, 3)[1]  # (3, 15, 6, 12); speakers ABCABC...
    with torch.no_grad():
        out = net({m: torch.from_numpy(v[lo:hi])[None] for m, v in features.items()},
                  torch.tensor([[0, 1, 1] * 4]), torch.ones(1, hi - lo, dtype=torch.bool),
                  {m: torch.from_numpy(p[lo:hi])[None] for m, p in present.items()})
    np.testing.assert_allclose(probs[c_lo:c_hi], out.logits[0, c_lo - lo : c_hi - lo].softmax(-1).numpy(),
                               atol=1e-5)
