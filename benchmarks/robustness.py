"""How a trained run copes with a modality that is missing at prediction time.

:func:`evaluate_without` scores a run's best checkpoint on a split of its store with some modalities
marked absent (``present`` False) for every utterance, as when a video has no transcript, no audio, or no
visible face. The model then uses its learned "missing" vectors in their place; training with
``model.modality_dropout`` > 0 teaches it to rely on them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import replace

import torch

from multiemo.data.dialogues import DialogueBatch, DialogueSet
from multiemo.data.store import FeatureStore
from multiemo.errors import InputError
from multiemo.runs.checkpoint import open_run
from multiemo.runs.forward import forward_pass


class WithoutModalities:
    """A :class:`DialogueSet` whose batches mark ``drop`` modalities absent everywhere."""

    def __init__(self, data: DialogueSet, drop: Sequence[str]) -> None:
        unknown = sorted(set(drop) - set(data.modalities))
        if unknown:
            raise InputError(f"cannot remove {unknown}: the run uses only {list(data.modalities)}")
        self.data, self.drop = data, tuple(drop)

    def batches(self, batch_size: int, **kwargs) -> Iterator[DialogueBatch]:
        for batch in self.data.batches(batch_size, **kwargs):
            present = {m: torch.zeros_like(p) if m in self.drop else p for m, p in batch.present.items()}
            yield replace(batch, present=present)


def evaluate_without(
    run_dir: str | os.PathLike,
    drop: Sequence[str] = (),
    *,
    split: str = "test",
    store: FeatureStore | None = None,
    device: torch.device | str | None = None,
) -> dict:
    """Scores (weighted-F1, accuracy, ... in percent) of the run's best checkpoint with ``drop`` removed.

    Args:
        run_dir: trained run directory.
        drop: modalities marked absent for every utterance of ``split`` (() = none: the usual evaluation).
        split: store split to score.
        store: the run's store (default: the one its settings name).
        device: torch device (default: CUDA when available).

    Returns:
        :func:`~multiemo.metrics.classification_scores` of the split.
    """
    model, identity, store, device = open_run(run_dir, store, device)
    data = WithoutModalities(DialogueSet(store, split, identity["model"]["modalities"]), drop)
    result = forward_pass(model, data, identity["train"]["batch_size"], device,
                          precision=identity["train"]["precision"])
    return result.scores(store.labels)
