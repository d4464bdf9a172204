"""Training MultiEMO on a feature store: best epoch chosen on validation, test evaluated once.

A run directory holds::

    settings.json      resolved model/train settings, store path, modalities (what the run is)
    history.jsonl      one line per finished epoch (losses, validation and test scores, learning rate)
    last.pt            everything needed to resume after an interruption
    best.pt            weights of the epoch with the best validation weighted-F1 (+ settings, epoch)
    metrics.json       final validation and test scores of best.pt
    predictions_test.csv, predictions_validation.csv
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from multiemo.data.dialogues import DialogueBatch, DialogueSet
from multiemo.data.store import FeatureStore, StoreError
from multiemo.io import atomic_path, write_json
from multiemo.losses import SoftHGRLoss, SWFCLoss
from multiemo.models import ModelConfig, MultiEMO
from multiemo.models.precision import resolve_precision
from multiemo.training.config import ConfigError, TrainConfig, from_mapping
from multiemo.training.metrics import classification_scores

log = logging.getLogger(__name__)

# Train settings that change where and how fast a run computes, not what it computes: a run resumes
# across changes of these, and they are not part of its identity.
RUNTIME_ONLY = ("device", "num_threads", "checkpoint_fusion")


class Objective:
    """Weighted sum of cross-entropy, SWFC and Soft-HGR over the real, labelled utterances of a batch."""

    def __init__(self, train: TrainConfig, class_counts: np.ndarray) -> None:
        self.train = train
        counts = torch.as_tensor(class_counts, dtype=torch.float32)
        weights = None
        if train.class_weighted_ce:
            weights = torch.where(counts > 0, counts.sum() / counts.clamp(min=1), torch.zeros_like(counts))
            weights = weights / weights[counts > 0].mean()
        self.ce = torch.nn.CrossEntropyLoss(weight=weights)
        self.swfc = SWFCLoss(
            class_counts=counts,
            temperature=train.swfc_temperature,
            focus=train.swfc_focus,
            sample_weight_power=train.swfc_sample_weight_power,
        )
        self.hgr = SoftHGRLoss(covariance=train.hgr_covariance)

    def to(self, device: torch.device) -> Objective:
        self.ce.to(device)
        self.swfc.to(device)
        return self

    def __call__(self, out, batch: DialogueBatch) -> tuple[torch.Tensor, dict[str, float]]:
        keep = batch.mask & (batch.labels >= 0)  # (B, T)
        labels = batch.labels[keep]  # (N,)
        t = self.train
        parts = {"ce": self.ce(out.logits[keep], labels)}
        if t.swfc_weight > 0:
            parts["swfc"] = self.swfc(out.fused[keep], labels)
        if t.hgr_weight > 0:
            parts["hgr"] = self.hgr(*(v[keep] for v in out.modality.values()))
        total = (
            t.ce_weight * parts["ce"]
            + t.swfc_weight * parts.get("swfc", 0.0)
            + t.hgr_weight * parts.get("hgr", 0.0)
        )
        return total, {k: float(v.detach()) for k, v in parts.items()}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device={name!r} but CUDA is not available here; use device=auto or cpu")
    return device


def build_model_config(model_settings: Mapping, store: FeatureStore) -> ModelConfig:
    """ModelConfig for a store: modalities must exist in it; context encoders only for modalities in use."""
    settings = dict(model_settings)
    modalities = tuple(settings.get("modalities", ModelConfig.modalities))
    missing = [m for m in modalities if m not in store.modalities]
    if missing:
        raise ConfigError(
            f"model.modalities asks for {missing}, but store {store.root} holds only {sorted(store.modalities)}"
        )
    context = settings.get("context_modalities", ModelConfig.context_modalities)
    settings["context_modalities"] = tuple(m for m in context if m in modalities)
    settings["modalities"] = modalities
    return from_mapping(ModelConfig, settings, section="model")


def train_run(
    store_path: str | os.PathLike,
    settings: Mapping,
    out_dir: str | os.PathLike,
    *,
    progress: bool = True,
    restart_if_changed: bool = False,
    on_epoch: Callable[[dict], None] | None = None,
) -> dict:
    """Train one seed and evaluate its best-on-validation checkpoint; resume if ``out_dir`` holds a run.

    Args:
        store_path: feature store directory.
        settings: ``{"model": {...}, "train": {...}}`` as resolved from config.yaml and overrides.
        out_dir: the run directory (created).
        progress: show a progress bar over epochs.
        restart_if_changed: if ``out_dir`` holds a run with other settings, delete it and start afresh
            (the workflow's behaviour when a setting changed); otherwise refuse with an error.
        on_epoch: called with each epoch's history record once it is written (e.g. by benchmarks).

    Returns:
        The content written to ``out_dir/metrics.json``.
    """
    out = Path(out_dir)
    store = FeatureStore(store_path)
    train_cfg = from_mapping(TrainConfig, settings.get("train", {}), section="train")
    model_cfg = build_model_config(settings.get("model", {}), store)
    device = resolve_device(train_cfg.device)
    # "auto" becomes what this device runs; the run records (and resumes with) that
    train_cfg = replace(train_cfg, precision=resolve_precision(train_cfg.precision, device))
    run_train = {k: v for k, v in asdict(train_cfg).items() if k not in RUNTIME_ONLY}
    identity = {
        "store": str(Path(store_path).resolve()),
        "store_fingerprint": store.fingerprint,
        "model": _jsonable(asdict(model_cfg)),
        "train": _jsonable(run_train),
        "labels": store.labels,
    }
    out.mkdir(parents=True, exist_ok=True)
    _claim_run_dir(out, identity, restart_if_changed)

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
    ).to(device)
    if model.fusion is not None:
        model.fusion.checkpoint = train_cfg.checkpoint_fusion
    model.precision = train_cfg.precision
    if train_cfg.standardize:
        mean, std = data["train"].feature_statistics()
        model.set_input_statistics(mean, std)
    objective = Objective(train_cfg, store.class_counts("train")).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr, weight_decay=train_cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=train_cfg.lr_factor, patience=train_cfg.lr_patience
    )
    shuffle = torch.Generator().manual_seed(train_cfg.seed)
    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0}

    last = out / "last.pt"
    if last.exists():
        ckpt = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        shuffle.set_state(ckpt["shuffle_rng"])
        torch.set_rng_state(ckpt["torch_rng"])
        if device.type == "cuda" and ckpt.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ckpt["cuda_rng"], device)
        state = ckpt["state"]
        log.info("resuming %s after epoch %d", out, state["epoch"])
    _truncate_history(out / "history.jsonl", state["epoch"])

    started = time.perf_counter()
    epochs = tqdm(
        range(state["epoch"] + 1, train_cfg.epochs + 1),
        desc=f"train {out.name}",
        disable=not progress,
        initial=state["epoch"],
        total=train_cfg.epochs,
    )
    for epoch in epochs:
        tic = time.perf_counter()
        train_pass = run_pass(model, data["train"], train_cfg.batch_size, objective, device,
                              optimizer=optimizer, generator=shuffle, grad_clip=train_cfg.grad_clip)
        val_pass = run_pass(model, data["validation"], train_cfg.batch_size, objective, device)
        test_pass = run_pass(model, data["test"], train_cfg.batch_size, None, device)  # scores only
        scheduler.step(val_pass.loss)
        val_scores = val_pass.scores(store.labels)
        test_scores = test_pass.scores(store.labels)
        record = {
            "epoch": epoch,
            "lr": optimizer.param_groups[0]["lr"],
            "train_loss": train_pass.loss,
            "train_parts": train_pass.parts,
            "train_weighted_f1": train_pass.scores(store.labels)["weighted_f1"],
            "validation_loss": val_pass.loss,
            "validation_weighted_f1": val_scores["weighted_f1"],
            "validation_accuracy": val_scores["accuracy"],
            # Logged for the oracle figure only; never used to choose anything.
            "test_weighted_f1": test_scores["weighted_f1"],
            "seconds": time.perf_counter() - tic,
        }
        if val_scores["weighted_f1"] > state["best_f1"]:
            state.update(best_f1=val_scores["weighted_f1"], best_epoch=epoch)
            _save(out / "best.pt", {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                    "epoch": epoch, "settings": identity, "input_dims": input_dims,
                                    "num_parties": num_parties})
        state["epoch"] = epoch
        _append_jsonl(out / "history.jsonl", record)
        if on_epoch is not None:
            on_epoch(record)
        _save(last, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "shuffle_rng": shuffle.get_state(),
                     "torch_rng": torch.get_rng_state(),
                     "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
                     "state": state})
        epochs.set_postfix(val_f1=f"{val_scores['weighted_f1']:.2f}", best=state["best_epoch"])
        log.info("epoch %d: train loss %.4f, validation loss %.4f, validation weighted-F1 %.2f (%.1fs)",
                 epoch, train_pass.loss, val_pass.loss, val_scores["weighted_f1"], record["seconds"])

    metrics = evaluate_run(out, splits=("validation", "test"), store=store, device=device)
    history = read_history(out / "history.jsonl")
    oracle = max(history, key=lambda r: r["test_weighted_f1"])
    metrics.update(
        best_epoch=state["best_epoch"],
        seed=train_cfg.seed,
        epochs=train_cfg.epochs,
        train_seconds=time.perf_counter() - started,
        oracle_test_weighted_f1=oracle["test_weighted_f1"],
        oracle_epoch=oracle["epoch"],
        oracle_note="best test score over all epochs: chosen on the test set, NOT a valid estimate; "
        "reported only for comparison with papers that selected epochs this way",
    )
    write_json(out / "metrics.json", metrics)
    return metrics


class PassResult:
    """Mean loss and the predictions of one pass over a split."""

    def __init__(self, loss: float, parts: dict, y_true: np.ndarray, probs: np.ndarray, rows: np.ndarray):
        self.loss, self.parts, self.y_true, self.probs, self.rows = loss, parts, y_true, probs, rows

    def scores(self, labels: Sequence[str]) -> dict:
        keep = self.y_true >= 0
        return classification_scores(self.y_true[keep], self.probs[keep].argmax(1), labels)


def run_pass(
    model: MultiEMO,
    data: DialogueSet,
    batch_size: int,
    objective: Objective | None,
    device: torch.device,
    *,
    optimizer: torch.optim.Optimizer | None = None,
    generator: torch.Generator | None = None,
    grad_clip: float = 0.0,
) -> PassResult:
    """One pass over ``data``; trains when ``optimizer`` is given, else evaluates without gradients."""
    training = optimizer is not None
    model.train(training)
    total, count, parts_sum = 0.0, 0, {}
    y_true, probs, rows = [], [], []
    with torch.set_grad_enabled(training):
        for batch in data.batches(batch_size, shuffle=training, generator=generator):
            batch = batch.to(device)
            if training:  # free the last step's gradients before this forward pass's activations arrive
                optimizer.zero_grad(set_to_none=True)
            out = model(batch.features, batch.party, batch.mask, batch.present)
            n = int((batch.mask & (batch.labels >= 0)).sum())
            if objective is not None and n > 0:
                loss, parts = objective(out, batch)
                if training:
                    loss.backward()
                    if grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
                    optimizer.step()
                total += float(loss.detach()) * n
                count += n
                for k, v in parts.items():
                    parts_sum[k] = parts_sum.get(k, 0.0) + v * n
            real = batch.mask
            y_true.append(batch.labels[real].cpu())
            probs.append(out.logits[real].detach().float().softmax(-1).cpu())
            rows.append(batch.rows[real].cpu())
    count = max(count, 1)
    return PassResult(
        loss=total / count,
        parts={k: v / count for k, v in parts_sum.items()},
        y_true=torch.cat(y_true).numpy(),
        probs=torch.cat(probs).numpy(),
        rows=torch.cat(rows).numpy(),
    )


def load_run_model(run_dir: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[MultiEMO, dict]:
    """The best checkpoint's model (eval mode) and the run's settings, with the checkpoint's ``best_epoch``
    and ``num_parties``."""
    path = Path(run_dir) / "best.pt"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: {run_dir} holds no finished epoch; train it first")
    try:
        ckpt = torch.load(path, map_location=device, weights_only=False)
        identity = ckpt["settings"]
        model = MultiEMO(
            config=from_mapping(ModelConfig, identity["model"], section="model"),
            input_dims=ckpt["input_dims"],
            num_classes=len(identity["labels"]),
            num_parties=ckpt["num_parties"],
        )
        model.load_state_dict(ckpt["model"])
        model.precision = identity["train"].get("precision", "fp32")  # runs older than the setting: fp32
    except (KeyError, TypeError, RuntimeError, ValueError, pickle.UnpicklingError) as err:
        # e.g. a checkpoint of an older model version (renamed or missing weights, unknown settings)
        detail = " ".join(str(err).split())  # load_state_dict lists the keys over several lines
        detail = detail if len(detail) <= 300 else detail[:297] + "..."
        raise ValueError(
            f"{path} cannot be loaded by this version of multiemo ({type(err).__name__}: {detail}); "
            "retrain the run, or use the multiemo version that wrote it"
        ) from None
    model.to(device).eval()
    return model, {**identity, "best_epoch": ckpt["epoch"], "num_parties": int(ckpt["num_parties"])}


def evaluate_run(
    run_dir: str | os.PathLike,
    *,
    splits: Sequence[str] = ("test",),
    store: FeatureStore | None = None,
    device: torch.device | str | None = None,
) -> dict:
    """Scores of the run's best checkpoint on ``splits``; writes ``predictions_{split}.csv`` beside it."""
    run_dir = Path(run_dir)
    device = torch.device(device) if device is not None else resolve_device("auto")
    model, identity = load_run_model(run_dir, device)
    store = store or FeatureStore(identity["store"])
    if store.labels != identity["labels"]:
        raise StoreError(f"{store.root} has labels {store.labels}, the run was trained on {identity['labels']}")
    batch_size = identity["train"]["batch_size"]
    results: dict = {"labels": store.labels, "store": str(store.root)}
    for split in splits:
        data = DialogueSet(store, split, identity["model"]["modalities"])
        res = run_pass(model, data, batch_size, None, device)
        results[split] = res.scores(store.labels)
        _write_predictions(run_dir / f"predictions_{split}.csv", store, res)
    return results


def _write_predictions(path: Path, store: FeatureStore, res: PassResult) -> None:
    table = store.table.iloc[res.rows]
    frame = pd.DataFrame({
        "dialogue_id": table["dialogue_id"].to_numpy(),
        "utterance_id": table["utterance_id"].to_numpy(),
        "label": table["label"].to_numpy(),
        "prediction": [store.labels[i] for i in res.probs.argmax(1)],
    })
    for i, label in enumerate(store.labels):
        frame[f"p_{label}"] = res.probs[:, i].round(6)
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_history(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _truncate_history(path: Path, epoch: int) -> None:
    """Drop history lines past the checkpointed epoch (written before an interruption)."""
    kept = [r for r in read_history(path) if r["epoch"] <= epoch]
    with atomic_path(path) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")


def _append_jsonl(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _save(path: Path, obj: dict) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _claim_run_dir(out: Path, identity: dict, restart_if_changed: bool) -> None:
    """Record what this run is; refuse to resume (or clear) a directory that holds a different run."""
    path = out / "settings.json"
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        previous.get("train", {}).setdefault("precision", "fp32")  # runs from before the setting: fp32
        if previous == identity:
            return
        if not restart_if_changed:
            changed = sorted(
                f"{section}.{key}"
                for section in ("model", "train")
                for key in set(previous.get(section, {})) | set(identity[section])
                if previous.get(section, {}).get(key) != identity[section].get(key)
            ) or ["the feature store's content or labels"]
            raise ConfigError(
                f"{out} holds a run with different settings ({', '.join(changed)}); "
                "choose another --out or delete that directory"
            )
        log.info("%s holds a run with other settings: starting afresh", out)
        for name in ("last.pt", "best.pt", "history.jsonl", "metrics.json", "settings.json"):
            (out / name).unlink(missing_ok=True)
    write_json(path, identity)


def _jsonable(obj):
    return json.loads(json.dumps(obj))
