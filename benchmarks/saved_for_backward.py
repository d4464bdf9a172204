"""Memory a training forward pass keeps for backward, with whichever multiemo checkout is on PYTHONPATH.

Deterministic where peak RSS is not: builds a preset's model on a store (``compare_commits.py`` or
``train_speed.py`` make them), takes the training batch with the most utterances, runs the forward pass and
the losses under the preset's precision, and counts every storage autograd saves once
(``torch.autograd.graph.saved_tensors_hooks``). Runs against the trainer layout of this checkout and that of
``4c4268a`` (before the trainer was split into floors), so commits can be compared:

    PYTHONPATH=<checkout> python benchmarks/saved_for_backward.py --dataset iemocap --store STORE
"""

from __future__ import annotations

import argparse
import contextlib
import json
from pathlib import Path

import torch

import multiemo
from multiemo.data.dialogues import DialogueSet
from multiemo.data.store import FeatureStore
from multiemo.models import MultiEMO
from multiemo.training.config import TrainConfig, from_mapping, resolve_run_settings

CHECKOUT = Path(multiemo.__file__).resolve().parents[1]
SPLIT_TRAINER = (CHECKOUT / "multiemo" / "training" / "loop.py").exists()  # False at 4c4268a


def model_and_step(settings: dict, store: FeatureStore):
    """The preset's model, its Objective and a context manager for its forward pass, in either layout."""
    train = from_mapping(TrainConfig, settings["train"], section="train")
    if SPLIT_TRAINER:
        from multiemo.training.loop import build_model_config
        from multiemo.training.objective import Objective
        from multiemo.training.precision import resolve_precision
        try:  # autocast moved to the runs floor with the run directory
            from multiemo.runs.precision import autocast
        except ImportError:
            from multiemo.training.precision import autocast
    else:
        from multiemo.models.precision import resolve_precision
        from multiemo.training.trainer import Objective, build_model_config
    precision = resolve_precision(train.precision, torch.device("cpu"))
    config = build_model_config(settings["model"], store)
    sizes = {"config": config, "input_dims": {m: store.modalities[m].dim for m in config.modalities},
             "num_classes": len(store.labels), "num_parties": int(store.table["party"].max()) + 1}
    torch.manual_seed(1)
    if SPLIT_TRAINER:
        model = MultiEMO(**sizes, checkpoint_fusion=train.checkpoint_fusion)
        forward_context = lambda: autocast(precision, torch.device("cpu"))
    else:  # the model autocast itself and held the fusion's checkpoint switch
        model = MultiEMO(**sizes)
        if model.fusion is not None:
            model.fusion.checkpoint = train.checkpoint_fusion
        model.precision = precision
        forward_context = contextlib.nullcontext
    return model, Objective(train, store.class_counts("train")), forward_context, precision, train.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["meld", "iemocap"], required=True)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    try:
        from multiemo.settings import load_yaml
    except ImportError:  # 4c4268a
        from multiemo.training.config import load_yaml
    settings = resolve_run_settings(load_yaml(CHECKOUT / "config.yaml"), args.dataset, ["train.device=cpu"])
    store = FeatureStore(args.store)
    model, objective, forward_context, precision, batch_size = model_and_step(settings, store)
    data = DialogueSet(store, "train", model.config.modalities)
    batches = data.batches(batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    batch = max(batches, key=lambda b: int(b.mask.sum()))
    storages: dict[int, int] = {}

    def keep(tensor):
        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    model.train()
    with torch.autograd.graph.saved_tensors_hooks(keep, lambda tensor: tensor):
        with forward_context():
            out = model(batch.features, batch.party, batch.mask, batch.present)
        objective(out.float() if SPLIT_TRAINER else out, batch)
    print(json.dumps({"multiemo": str(CHECKOUT), "dataset": args.dataset, "precision": precision,
                      "batch": list(batch.mask.shape), "utterances": int(batch.mask.sum()),
                      "saved_mib": round(sum(storages.values()) / 2**20, 1), "storages": len(storages)}))


if __name__ == "__main__":
    main()
