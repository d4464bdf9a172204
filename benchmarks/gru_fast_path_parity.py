"""Whole training runs with the DialogueRNN's GRU fast path and with the plain update: results bit for bit.

Trains the IEMOCAP preset (DialogueRNN on three modalities, both directions, MultiAttn, the three losses,
calibration) at reduced sizes on a subset of the IEMOCAP-like synthetic store of ``train_speed.py``, once
with ``multiemo.models.gru_update.GRUUpdate`` and once with the plain ``gru`` in its place, and compares
every history record (timings aside), the final metrics and the weights of ``best.pt``:

    python -m benchmarks.gru_fast_path_parity [--epochs 2] [--set train.precision=bf16]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.train_speed import IEMOCAP_LABELS, iemocap_like_table
from multiemo.data.store import write_store
from multiemo.models import dialogue_rnn
from multiemo.settings import load_yaml
from multiemo.training import train_run
from multiemo.training.config import resolve_run_settings

REPO = Path(__file__).resolve().parents[1]
SMALL = ["train.batch_size=8", "model.model_dim=32", "model.hidden_dim=64", "model.classifier_hidden=32"]


class PlainUpdate:
    """Stands in for GRUUpdate: ``apply`` is the plain, op-by-op update."""

    apply = staticmethod(dialogue_rnn.gru)


def train(store: Path, settings: dict, run: Path, update: type) -> tuple[list, dict, dict]:
    fast = dialogue_rnn.GRUUpdate
    dialogue_rnn.GRUUpdate = update  # what DialogueRNNCore.forward applies
    try:
        metrics = train_run(store, settings, run, progress=False)
    finally:
        dialogue_rnn.GRUUpdate = fast
    history = [{k: v for k, v in json.loads(line).items() if k != "seconds"}
               for line in (run / "history.jsonl").read_text(encoding="utf-8").splitlines()]
    metrics = {k: v for k, v in metrics.items() if "seconds" not in k}
    return history, metrics, torch.load(run / "best.pt", weights_only=True)["model"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    table = iemocap_like_table()
    dialogues = [f"d{i}" for i in [*range(24), *range(108, 114), *range(120, 126)]]  # train, validation, test
    table = table[table["dialogue_id"].isin(dialogues)].reset_index(drop=True)
    rng = np.random.default_rng(0)
    features = {m: rng.standard_normal((len(table), d), dtype=np.float32)
                for m, d in {"text": 48, "audio": 32, "visual": 40}.items()}
    settings = resolve_run_settings(load_yaml(REPO / "config.yaml"), "iemocap",
                                    [f"train.epochs={args.epochs}", "train.device=cpu", *SMALL, *args.set])
    with tempfile.TemporaryDirectory() as tmp:
        store = write_store(Path(tmp) / "store", name="iemocap", table=table, labels=IEMOCAP_LABELS,
                            features=features).root
        fast = train(store, settings, Path(tmp) / "fast", dialogue_rnn.GRUUpdate)
        plain = train(store, settings, Path(tmp) / "plain", PlainUpdate)
    print(json.dumps({
        "history_equal": fast[0] == plain[0],
        "metrics_equal": fast[1] == plain[1],
        "best_weights_equal": fast[2].keys() == plain[2].keys()
        and all(torch.equal(fast[2][k], plain[2][k]) for k in fast[2]),
        "test_weighted_f1_per_epoch": [r["test_weighted_f1"] for r in fast[0]],
        "overrides": SMALL + args.set,
    }, indent=2))


if __name__ == "__main__":
    main()
