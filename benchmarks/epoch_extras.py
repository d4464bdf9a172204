"""What each per-epoch extra of the training loop costs, apart from the three passes.

Besides the train, validation and test passes, every epoch of ``multiemo.training.loop.fit`` writes
``best.pt`` (when validation improved), ``last.pt`` and a history line (the file rewritten atomically), and
scores three pass results (softmax of the logits kept for calibration, weighted-F1 and accuracy). This times
each on the preset's real model and the synthetic store's real split sizes (``benchmarks/train_speed.py``),
median of ``--repeats`` calls, in seconds:

    python -m benchmarks.epoch_extras --dataset meld
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.train_speed import DIMS, IEMOCAP_LABELS, MELD_LABELS, iemocap_like_table, meld_table
from multiemo.runs.checkpoint import save_checkpoint
from multiemo.runs.forward import PassResult
from multiemo.runs.history import append_history
from multiemo.settings import load_yaml
from multiemo.training.config import model_config, resolve_run_settings

REPO = Path(__file__).resolve().parents[1]


def _median_seconds(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        tic = time.perf_counter()
        call()
        times.append(time.perf_counter() - tic)
    return round(statistics.median(times), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["meld", "iemocap"], required=True)
    parser.add_argument("--meld-dir", type=Path, default=REPO / ".." / "shared/data/meld")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from multiemo.models import MultiEMO

    table = meld_table(args.meld_dir) if args.dataset == "meld" else iemocap_like_table()
    labels = MELD_LABELS if args.dataset == "meld" else IEMOCAP_LABELS
    settings = resolve_run_settings(load_yaml(REPO / "config.yaml"), args.dataset)
    model = MultiEMO(config=model_config(settings["model"]), input_dims=DIMS, num_classes=len(labels),
                     num_parties=int(table["party"].max()) + 1)
    optimizer = torch.optim.Adam(model.parameters())
    model(*_one_batch()).logits.sum().backward()  # Adam's moments exist, as after an epoch
    optimizer.step()
    rng = np.random.default_rng(0)
    passes = {split: PassResult(0.0, {}, rng.integers(len(labels), size=n),
                                rng.standard_normal((n, len(labels))).astype(np.float32), np.arange(n))
              for split, n in table["split"].value_counts().items()}
    record = {"epoch": 1, "lr": 1e-4, "train_loss": 1.0, "train_parts": {"ce": 1.0, "swfc": 1.0, "hgr": 1.0},
              **{k: 1.0 for k in ("train_weighted_f1", "validation_loss", "validation_weighted_f1",
                                  "validation_accuracy", "test_weighted_f1", "test_accuracy", "seconds")}}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        history = out / "history.jsonl"
        for epoch in range(1, settings["train"]["epochs"]):  # the file as it is at the preset's last epoch
            append_history(history, {**record, "epoch": epoch})
        costs = {
            "best.pt (model)": _median_seconds(lambda: save_checkpoint(out / "best.pt", {
                "model": model.state_dict(), "epoch": 1}), args.repeats),
            "last.pt (model, Adam, RNG states)": _median_seconds(lambda: save_checkpoint(out / "last.pt", {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "torch_rng": torch.get_rng_state()}), args.repeats),
            f"history line (file of {settings['train']['epochs']} lines rewritten)": _median_seconds(
                lambda: append_history(history, record), args.repeats),
            "scores of the three passes (softmax, weighted-F1, accuracy)": _median_seconds(
                lambda: [PassResult(0.0, {}, p.y_true, p.logits, p.rows).scores(labels)
                         for p in passes.values()],
                args.repeats),
        }
        sizes = {name: round((out / name).stat().st_size / 2**20, 1) for name in ("best.pt", "last.pt")}
    print(json.dumps({"dataset": args.dataset, "seconds": costs, "checkpoint_mb": sizes,
                      "threads": torch.get_num_threads()}, indent=2))


def _one_batch():
    """A one-dialogue batch of every modality, to run the model once."""
    mask = torch.ones(1, 3, dtype=torch.bool)
    features = {m: torch.randn(1, 3, d) for m, d in DIMS.items()}
    return features, torch.zeros(1, 3, dtype=torch.long), mask


if __name__ == "__main__":
    main()
