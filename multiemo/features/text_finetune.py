"""Fine-tuning a text encoder on the emotion labels before extracting features (as EmoBERTa did for MultiEMO).

A linear head on the pooled output is trained with the encoder on split ``train``; after every epoch the
weighted F1 on split ``validation`` decides whether the encoder is saved (test is never looked at). The best
encoder and its tokenizer are written to ``out_dir`` atomically, with ``multiemo_finetune.json`` recording the
settings, so ``TextEncoder(out_dir)`` extracts features from it and says so in their provenance.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from multiemo.errors import InputError
from multiemo.features.text import FINETUNE_FILE, TextEncoder, format_inputs
from multiemo.io import OutputKind, atomic_path
from multiemo.metrics import classification_scores

log = logging.getLogger(__name__)

HEAD_FILE = "classifier_head.pt"
#: A fine-tuned encoder folder (Hugging Face files beside ours): only such a folder is replaced.
ENCODER_FOLDER = OutputKind("fine-tuned text encoder", FINETUNE_FILE)


@dataclass
class FinetuneResult:
    """Where the best encoder went and how good it was on validation."""

    path: Path
    validation_f1: float
    best_epoch: int
    history: list[dict] = field(default_factory=list)


def finetune_text_encoder(
    table: pd.DataFrame,
    encoder_name: str,
    *,
    labels: list[str],
    out_dir: str | os.PathLike,
    epochs: int = 5,
    lr: float = 1e-5,
    head_lr: float | None = None,
    batch_size: int = 16,
    patience: int = 2,
    seed: int = 0,
    past: int | None = None,
    future: int | None = None,
    speaker_names: bool = True,
    max_length: int | None = None,
    pooling: str = "cls",
    class_weighted: bool = False,
    weight_decay: float = 0.01,
    warmup_ratio: float = 0.1,
    dropout: float = 0.1,
    device: str | torch.device | None = None,
    show_progress: bool = True,
) -> FinetuneResult:
    """Fine-tune ``encoder_name`` to classify utterances (in context) and save the best epoch's encoder.

    Args:
        table: utterance table with splits ``train`` and ``validation``; unlabelled or empty-text rows are
            not trained on (they still serve as context).
        encoder_name: anything :class:`~multiemo.features.text.TextEncoder` loads.
        labels: label names in index order; every non-empty label of the used rows must be one of them.
        out_dir: folder for the best encoder + tokenizer (+ ``classifier_head.pt`` and
            ``multiemo_finetune.json``).
        head_lr: learning rate of the new classifier head (default ``lr``). A small encoder's pooled outputs
            are small (all-MiniLM-L6-v2: about 0.2 per dimension), so at an encoder-sized rate the randomly
            initialised head barely moves in the first epoch and the encoder gets little useful gradient; a
            larger head rate fixes that.
        epochs, lr, batch_size, weight_decay: AdamW training; the learning rate warms up linearly over
            ``warmup_ratio`` of the steps, then decays linearly to 0.
        patience: stop after this many epochs without a better validation weighted F1.
        seed: seeds head initialisation, dropout and shuffling (deterministic on CPU).
        past, future, speaker_names, max_length: input format, see
            :func:`~multiemo.features.text.format_inputs`; extract features later with the same values.
        pooling: ``"cls"`` or ``"mean"``, also used when extracting.
        class_weighted: weight the cross-entropy by inverse class frequency of the training rows.

    Returns:
        :class:`FinetuneResult` with ``out_dir`` and the best validation weighted F1.
    """
    if head_lr is not None and head_lr <= 0:
        raise ValueError(f"head_lr must be positive, got {head_lr}")
    if epochs < 1 or patience < 1 or lr <= 0 or batch_size < 1:
        raise ValueError(
            f"need epochs, patience, batch_size >= 1 and lr > 0, got {epochs}, {patience}, {batch_size}, {lr}"
        )
    torch.manual_seed(seed)
    encoder = TextEncoder(
        encoder_name, pooling=pooling, max_length=max_length, batch_size=batch_size, device=device
    )
    inputs = format_inputs(
        table,
        past=past,
        future=future,
        speaker_names=speaker_names,
        tokenizer=encoder.tokenizer,
        max_length=encoder.max_length,
    )
    ids = encoder.tokenize(inputs)
    targets = _targets(table, labels)
    train, validation = (
        np.flatnonzero((table["split"].to_numpy() == s) & (targets >= 0)) for s in ("train", "validation")
    )
    if len(train) == 0 or len(validation) == 0:
        raise ValueError(
            f"fine-tuning needs labelled utterances with text in splits train and validation; "
            f"found {len(train)} and {len(validation)}"
        )
    head = nn.Sequential(nn.Dropout(dropout), nn.Linear(encoder.dim, len(labels))).to(encoder.device)
    weight = _class_weights(targets[train], len(labels)) if class_weighted else None
    loss_fn = nn.CrossEntropyLoss(weight=None if weight is None else weight.to(encoder.device))
    optimizer = torch.optim.AdamW(
        [
            {"params": list(encoder.model.parameters()), "lr": lr},
            {"params": list(head.parameters()), "lr": head_lr or lr},
        ],
        weight_decay=weight_decay,
    )
    total = epochs * math.ceil(len(train) / batch_size)
    warmup = max(1, round(warmup_ratio * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    generator = torch.Generator().manual_seed(seed)
    settings = {
        "base_model": encoder_name,
        "labels": list(labels),
        "epochs": epochs,
        "lr": lr,
        "head_lr": head_lr or lr,
        "batch_size": batch_size,
        "patience": patience,
        "seed": seed,
        "past": past,
        "future": future,
        "speaker_names": speaker_names,
        "max_length": encoder.max_length,
        "pooling": pooling,
        "class_weighted": class_weighted,
        "weight_decay": weight_decay,
        "warmup_ratio": warmup_ratio,
        "dropout": dropout,
    }
    out_dir = Path(out_dir)
    best, best_epoch, stale, history = -1.0, 0, 0, []
    lengths = np.array([len(x) for x in ids])
    for epoch in range(1, epochs + 1):
        order = length_bucketed_order(train, lengths, batch_size, generator)
        loss = _train_epoch(
            encoder, head, ids, order, targets, loss_fn, optimizer, schedule, epoch, show_progress
        )
        score = _weighted_f1(encoder, head, ids, validation, targets, len(labels))
        history.append({"epoch": epoch, "train_loss": loss, "validation_weighted_f1": score})
        log.info("fine-tune epoch %d: train loss %.4f, validation weighted F1 %.4f", epoch, loss, score)
        if score > best:
            best, best_epoch, stale = score, epoch, 0
            meta = {
                "settings": settings,
                "best_epoch": epoch,
                "validation_weighted_f1": score,
                "history": history,
            }
            _save(out_dir, encoder, head, meta)
        else:
            stale += 1
            if stale >= patience:
                log.info("no better validation F1 for %d epochs: stopping after epoch %d", patience, epoch)
                break
    _update_history(out_dir, history)
    return FinetuneResult(path=out_dir, validation_f1=best, best_epoch=best_epoch, history=history)


def length_bucketed_order(
    rows: np.ndarray, lengths: np.ndarray, batch_size: int, generator: torch.Generator, *, pool: int = 50
) -> np.ndarray:
    """A shuffled order of ``rows`` in which each run of ``batch_size`` rows has similar token lengths.

    Rows are shuffled, cut into pools of ``pool`` batches, sorted by length inside each pool, batched, and the
    full batches are shuffled again; the partial batch (if any) comes last, so slicing the returned order
    every ``batch_size`` rows gives exactly these batches. Padding to the longest input of a batch then costs
    little, which on a CPU roughly halves a fine-tuning epoch of context-laden inputs, while batches still mix
    the whole training split from one epoch to the next.

    Args:
        rows: (R,) row indices to train on.
        lengths: (N,) token count of every row of the table.
        batch_size: rows per batch.
        generator: seeded source of both shuffles.
        pool: batches per sorting pool.

    Returns:
        (R,) the rows in training order.
    """
    shuffled = rows[torch.randperm(len(rows), generator=generator).numpy()]
    span = batch_size * pool  # a multiple of batch_size: only the very last batch can be partial
    batches = []
    for lo in range(0, len(shuffled), span):
        chunk = shuffled[lo : lo + span]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    tail = batches.pop() if batches and len(batches[-1]) < batch_size else shuffled[:0]
    permutation = torch.randperm(len(batches), generator=generator).numpy()
    return np.concatenate([*(batches[i] for i in permutation), tail])


def _train_epoch(
    encoder: TextEncoder,
    head: nn.Module,
    ids: list[list[int]],
    order: np.ndarray,
    targets: np.ndarray,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule,
    epoch: int,
    show_progress: bool,
) -> float:
    """One pass over the training rows in ``order``; returns the mean training loss."""
    encoder.model.train()
    head.train()
    params = [p for group in optimizer.param_groups for p in group["params"]]
    total = 0.0
    steps = math.ceil(len(order) / encoder.batch_size)
    for rows, batch in tqdm(
        encoder.batches(ids, order), total=steps, desc=f"fine-tune epoch {epoch}", disable=not show_progress
    ):
        logits = head(encoder.pooled(batch))  # (B, C)
        loss = loss_fn(logits, torch.as_tensor(targets[rows], device=logits.device))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        total += loss.item() * len(rows)
    return total / len(order)


def _targets(table: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """(N,) label index, -1 for rows that are not trained on (unlabelled or empty text)."""
    index = {name: i for i, name in enumerate(labels)}
    unknown = sorted(set(table["label"]) - set(index) - {""})
    if unknown:
        raise InputError(f"labels {unknown} in the table are not among {list(labels)}")
    has_text = np.array([bool(str(t).strip()) for t in table["text"]])
    ids = np.array([index.get(label, -1) for label in table["label"]], dtype=np.int64)
    return np.where(has_text, ids, -1)


def _class_weights(targets: np.ndarray, classes: int) -> torch.Tensor:
    counts = np.bincount(targets, minlength=classes).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (classes * np.maximum(counts, 1)), 0.0)
    return torch.as_tensor(weights, dtype=torch.float32)


@torch.no_grad()
def _weighted_f1(
    encoder: TextEncoder, head: nn.Module, ids, rows: np.ndarray, targets: np.ndarray, classes: int
) -> float:
    encoder.model.eval()
    head.eval()
    order = rows[np.argsort([-len(ids[r]) for r in rows], kind="stable")]
    predicted = {}
    for batch_rows, batch in encoder.batches(ids, order):
        predicted.update(zip(batch_rows.tolist(), head(encoder.pooled(batch)).argmax(-1).cpu().tolist()))
    guesses = np.array([predicted[r] for r in rows])
    return classification_scores(targets[rows], guesses, list(range(classes)))["weighted_f1"] / 100.0


def _save(out_dir: Path, encoder: TextEncoder, head: nn.Module, meta: dict) -> None:
    """Replace ``out_dir`` by the current encoder in one rename: a crash leaves the previous best intact."""
    with atomic_path(out_dir, ENCODER_FOLDER) as tmp:
        tmp.mkdir()
        encoder.model.save_pretrained(tmp)
        encoder.tokenizer.save_pretrained(tmp)
        torch.save({k: v.cpu() for k, v in head.state_dict().items()}, tmp / HEAD_FILE)
        (tmp / FINETUNE_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log.info(
        "saved fine-tuned encoder (validation weighted F1 %.4f) to %s",
        meta["validation_weighted_f1"],
        out_dir,
    )


def _update_history(out_dir: Path, history: list[dict]) -> None:
    """Record the epochs after the best one too, so the folder tells how training ended."""
    path = out_dir / FINETUNE_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["history"] = history
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
