"""The training loop: epochs over a feature store, the best epoch kept by a validation score
(``train.selection``), optionally stopped early (``train.patience``).

:func:`fit` trains and leaves ``settings.json``, ``history.jsonl``, ``last.pt`` and ``best.pt`` in the run
directory (see :mod:`multiemo.runs`); :func:`multiemo.training.train_run` then evaluates the best
checkpoint once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from multiemo.data.dialogues import DialogueSet
from multiemo.data.store import FeatureStore
from multiemo.models import ModelConfig, MultiEMO
from multiemo.runs.checkpoint import load_checkpoint, resolve_device, save_checkpoint
from multiemo.runs.directory import BEST, HISTORY, LAST
from multiemo.runs.forward import forward_pass
from multiemo.runs.history import append_history, truncate_history
from multiemo.runs.identity import claim_run_dir, run_identity
from multiemo.runs.provenance import record_provenance
from multiemo.training.config import ConfigError, TrainConfig, from_mapping, model_config, recorded_train
from multiemo.training.objective import Objective
from multiemo.training.passes import train_pass
from multiemo.training.precision import resolve_precision
from multiemo.training.resume import restore, resume_state

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fitted:
    """What :func:`fit` leaves for the evaluation of its best checkpoint."""

    store: FeatureStore
    device: torch.device
    best_epoch: int
    seed: int
    epochs: int
    epochs_run: int  # fewer than epochs when stopped early
    stopped_early: bool
    seconds: float  # spent in the epoch loop


def build_model_config(model_settings: Mapping, store: FeatureStore) -> ModelConfig:
    """ModelConfig for a store: modalities must exist in it; context encoders only for modalities in use."""
    config = model_config(model_settings)
    missing = [m for m in config.modalities if m not in store.modalities]
    if missing:
        raise ConfigError(
            f"model.modalities asks for {missing}, "
            f"but store {store.root} holds only {sorted(store.modalities)}"
        )
    training = store.table["split"].to_numpy() == "train"
    for m in config.modalities:  # a modality that is all padding would train silently on nothing
        empty = store.modalities[m].dim < 1 or not store.present(m)[training].any()
        if empty:
            others = [o for o in config.modalities if o != m]
            raise ConfigError(
                f"store {store.root} has no {m} features for any training utterance ("
                + ("0 columns" if store.modalities[m].dim < 1 else "none present")
                + f"): drop it from model.modalities (e.g. model.modalities=[{','.join(others)}]) or rebuild "
                  "the store with them")
    return config


def fit(
    store_path: str | os.PathLike,
    settings: Mapping,
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
    restart_if_changed: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
) -> Fitted:
    """Train one seed; resume if ``out_dir`` holds an unfinished run of the same settings.

    Args: as :func:`multiemo.training.train_run`.
    """
    out = Path(out_dir)
    store = FeatureStore(store_path)
    train_cfg = from_mapping(TrainConfig, settings.get("train", {}), section="train")
    model_cfg = build_model_config(settings.get("model", {}), store)
    device = resolve_device(train_cfg.device)
    # "auto" becomes what this device runs; the run records (and resumes with) that
    train_cfg = replace(train_cfg, precision=resolve_precision(train_cfg.precision, device))
    identity = run_identity(store_path, store, model_cfg, recorded_train(train_cfg))
    out.mkdir(parents=True, exist_ok=True)
    claim_run_dir(out, identity, restart_if_changed)
    record_provenance(out, store, model_cfg.modalities)

    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)
    log.info("training on %s in %s", device, train_cfg.precision)
    torch.manual_seed(train_cfg.seed)
    np.random.seed(train_cfg.seed)
    modalities = model_cfg.modalities
    data = {split: DialogueSet(store, split, modalities) for split in ("train", "validation", "test")}
    num_parties = int(store.table["party"].max()) + 1
    input_dims = {m: store.modalities[m].dim for m in modalities}
    model = MultiEMO(
        config=model_cfg,
        input_dims=input_dims,
        num_classes=len(store.labels),
        num_parties=num_parties,
        checkpoint_fusion=train_cfg.checkpoint_fusion,
    ).to(device)
    if train_cfg.standardize:
        mean, std = data["train"].feature_statistics()
        model.set_input_statistics(mean, std)
    objective = Objective(train_cfg, store.class_counts("train")).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=train_cfg.lr_factor, patience=train_cfg.lr_patience
    )
    shuffle = torch.Generator().manual_seed(train_cfg.seed)
    state = {"epoch": 0, "best_score": None, "best_epoch": 0, "stopped": False}

    last = out / LAST
    if last.exists():
        ckpt = load_checkpoint(last, device)
        state = _resumed_state(restore(ckpt, model, optimizer, scheduler, shuffle, device))
        log.info("resuming %s after epoch %d", out, state["epoch"])
    truncate_history(out / HISTORY, state["epoch"])

    started = time.perf_counter()
    epochs = tqdm(
        range(state["epoch"] + 1, train_cfg.epochs + 1) if not state["stopped"] else (),
        desc=f"train {out.name}",
        disable=not progress,
        initial=state["epoch"],
        total=train_cfg.epochs,
    )
    for epoch in epochs:
        tic = time.perf_counter()
        trained = train_pass(model, data["train"], train_cfg.batch_size, objective, device, optimizer,
                             generator=shuffle, grad_clip=train_cfg.grad_clip, precision=train_cfg.precision)
        val_pass = forward_pass(model, data["validation"], train_cfg.batch_size, device,
                                precision=train_cfg.precision, objective=objective)
        test_pass = forward_pass(model, data["test"], train_cfg.batch_size, device,  # scores only
                                 precision=train_cfg.precision)
        scheduler.step(val_pass.loss)
        val_scores = val_pass.scores(store.labels)
        test_scores = test_pass.scores(store.labels)
        record = {
            "epoch": epoch,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": trained.loss,
            "train_parts": trained.parts,
            "train_weighted_f1": trained.scores(store.labels)["weighted_f1"],
            "validation_loss": val_pass.loss,
            "validation_weighted_f1": val_scores["weighted_f1"],
            "validation_accuracy": val_scores["accuracy"],
            # Logged for the oracle figures only; never used to choose anything.
            "test_weighted_f1": test_scores["weighted_f1"],
            "test_accuracy": test_scores["accuracy"],
            "seconds": time.perf_counter() - tic,
        }
        # The first best epoch by the selection score, higher weighted-F1 or lower loss
        score = val_scores["weighted_f1"] if train_cfg.selection == "weighted_f1" else -val_pass.loss
        if state["best_score"] is None or score > state["best_score"]:
            state.update(best_score=score, best_epoch=epoch)
            # What evaluation, prediction and export read; resuming reads last.pt (Adam's state would
            # triple it).
            save_checkpoint(out / BEST, {"model": model.state_dict(), "epoch": epoch, "settings": identity,
                                              "input_dims": input_dims, "num_parties": num_parties})
        state["epoch"] = epoch
        stale = epoch - state["best_epoch"]  # epochs since the selection score last improved
        state["stopped"] = train_cfg.patience is not None and stale >= train_cfg.patience
        record.update(best_epoch=state["best_epoch"], stopped_early=state["stopped"])
        append_history(out / HISTORY, record)
        if on_epoch is not None:
            on_epoch(record)
        save_checkpoint(last, resume_state(model, optimizer, scheduler, shuffle, device, state))
        epochs.set_postfix(val_f1=f"{val_scores['weighted_f1']:.2f}", best=state["best_epoch"])
        log.info("epoch %d: train loss %.4f, validation loss %.4f, validation weighted-F1 %.2f (%.1fs)",
                 epoch, trained.loss, val_pass.loss, val_scores["weighted_f1"], record["seconds"])
        if state["stopped"]:
            log.info("early stop after epoch %d: no better validation %s for %d epochs (best: epoch %d)",
                     epoch, train_cfg.selection, stale, state["best_epoch"])
            break
    return Fitted(store=store, device=device, best_epoch=state["best_epoch"], seed=train_cfg.seed,
                  epochs=train_cfg.epochs, epochs_run=state["epoch"], stopped_early=state["stopped"],
                  seconds=time.perf_counter() - started)


def _resumed_state(state: dict) -> dict:
    """A checkpoint's loop state; one written before train.selection existed selected by weighted-F1."""
    state = dict(state)
    if "best_f1" in state:
        state["best_score"] = state.pop("best_f1")
    state.setdefault("stopped", False)
    return state
