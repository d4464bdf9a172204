import torch

from multiemo.models.modality_dropout import drop_modalities


def test_never_drops_every_present_modality_of_an_utterance():
    torch.manual_seed(0)
    present = torch.rand(50, 20, 3) < 0.8
    kept = drop_modalities(present, 0.9)
    assert not (kept & ~present).any()
    assert torch.equal(kept.any(-1), present.any(-1))
    assert kept.sum() < present.sum()


def test_seeded_and_identity_at_zero():
    present = torch.ones(4, 5, 3, dtype=torch.bool)
    torch.manual_seed(1)
    a = drop_modalities(present, 0.5)
    torch.manual_seed(1)
    assert torch.equal(a, drop_modalities(present, 0.5))
    assert drop_modalities(present, 0.0) is present
