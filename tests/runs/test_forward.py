"""The forward-only pass: eval mode, no gradients, the same outputs a plain loop over the batches gives, and
the loss averaged over labelled utterances; the training step shares its forward and its tally."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from multiemo.data.dialogues import DialogueSet
from multiemo.models import MultiEMO
from multiemo.runs.forward import forward_pass
from multiemo.training.config import TrainConfig, model_config
from multiemo.training.objective import Objective
from multiemo.training.passes import train_pass
from tests.conftest import make_learnable_store

MODEL = {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "num_layers": 1, "classifier_hidden": 16,
         "context_modalities": ["audio"], "dropout": 0.3, "rnn_dropout": 0.3}


@pytest.fixture
def setup(tmp_path):
    store = make_learnable_store(tmp_path / "store")
    config = model_config(MODEL)
    torch.manual_seed(0)
    model = MultiEMO(config=config, input_dims={m: store.modalities[m].dim for m in config.modalities},
                     num_classes=len(store.labels), num_parties=int(store.table["party"].max()) + 1)
    objective = Objective(TrainConfig(), store.class_counts("train"))
    return store, model, objective, config.modalities


def test_forward_pass_is_eval_mode_without_gradients_and_equals_a_plain_loop(setup):
    store, model, objective, modalities = setup
    data = DialogueSet(store, "validation", modalities)
    model.train()  # dropout on: the pass must switch it off
    result = forward_pass(model, data, 2, torch.device("cpu"), objective=objective)
    assert not model.training
    assert all(p.grad is None for p in model.parameters())

    logits, losses, counts = [], [], []
    with torch.no_grad():
        for batch in data.batches(2):
            out = model(batch.features, batch.party, batch.mask, batch.present)  # (B, T, C) logits
            logits.append(out.logits[batch.mask].numpy())
            keep = batch.mask & (batch.labels >= 0)
            losses.append(float(objective(out, batch)[0]) * int(keep.sum()))
            counts.append(int(keep.sum()))
    assert np.array_equal(result.logits, np.concatenate(logits))
    assert result.loss == pytest.approx(sum(losses) / sum(counts), rel=1e-6)
    assert len(result.rows) == len(result.y_true) == int((store.table["split"] == "validation").sum())
    assert forward_pass(model, data, 2, torch.device("cpu")).loss == 0.0  # scores only: no loss


def test_the_training_step_updates_the_model_and_the_forward_pass_does_not(setup):
    store, model, objective, modalities = setup
    before = {k: v.clone() for k, v in model.state_dict().items()}
    forward_pass(model, DialogueSet(store, "train", modalities), 3, torch.device("cpu"), objective=objective)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    result = train_pass(model, DialogueSet(store, "train", modalities), 3, objective, torch.device("cpu"),
                        optimizer, generator=torch.Generator().manual_seed(0))
    assert model.training and result.loss > 0
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
