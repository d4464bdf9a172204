"""Train, interrupt, resume and predict on one device: the check that a run resumes where it trains.

Trains two epochs on the demo store with ``train.device=DEVICE`` (bf16 ``auto``), interrupts it after the
first epoch (a KeyboardInterrupt raised from the epoch callback, as Ctrl-C would), resumes it with the same
command, checks that the resumed run's history equals an uninterrupted run's, then predicts the demo's test
utterances with ``--device auto``. Prints one JSON line: the card, seconds per epoch, peak GPU memory.

    python benchmarks/device_resume.py --device cuda                       # the GPU check (issue 26)
    python benchmarks/device_resume.py --device cpu --modalities text      # the CPU smoke test

The store is ``--store`` when it exists (``make demo`` leaves ``results/demo/store``); otherwise it is made
from the committed demo corpus (``workflow/demo/meld_layout``) with config.yaml's demo extraction settings,
for the ``--modalities`` asked (text alone takes seconds; audio and visual take minutes on a CPU).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from multiemo.cli import main as multiemo
from multiemo.data.store import FeatureStore
from multiemo.pipeline import assemble_store, extract_features, read_corpus
from multiemo.runs.history import read_history
from multiemo.settings import deep_merge, load_yaml
from multiemo.training import train_run
from multiemo.training.config import resolve_run_settings

REPO = Path(__file__).resolve().parents[1]
DEMO = "demo"


class Interrupted(KeyboardInterrupt):
    """Raised after the first epoch, as Ctrl-C would be."""


def demo_store(path: Path, modalities: list[str], work: Path) -> FeatureStore:
    """The demo store: ``path`` when it exists, else made from the committed demo corpus."""
    if (path / "store.json").is_file():
        return FeatureStore(path)
    config = load_yaml(REPO / "config.yaml")
    entry = {**config["datasets"][DEMO], "modalities": modalities}
    entry["root"] = str(REPO / entry["root"])
    read_corpus(entry, work / "corpus")
    files = {}
    for modality in modalities:
        settings = deep_merge(config["extraction"].get(modality, {}),
                              entry.get("extraction", {}).get(modality, {}))
        files[modality] = [work / f"{modality}.npz"]
        extract_features(modality, work / "corpus", files[modality][0], settings=settings, progress=False)
    return assemble_store(DEMO, work / "corpus", files, path)


def manifest_of_test(store: FeatureStore, out: Path) -> Path:
    """A manifest CSV of the store's test utterances (text and clip): what a user hands to predict."""
    rows = store.table[store.table["split"] == "test"]
    manifest = pd.DataFrame({"dialogue_id": rows["dialogue_id"], "utterance_id": rows["utterance_id"],
                             "speaker": rows["speaker"], "text": rows["text"],
                             "media": rows.get("media", "")})
    manifest.to_csv(out, index=False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda", help="train.device: cuda, cuda:N or cpu")
    parser.add_argument("--store", type=Path, default=REPO / "results" / "demo" / "store")
    parser.add_argument("--modalities", default="text,audio,visual", help="when the store must be made")
    parser.add_argument("--work", type=Path,
                        help="folder for the store, runs and predictions (default: temp)")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="device_resume_"))
    cuda = args.device.startswith("cuda")

    tic = time.perf_counter()
    store = demo_store(args.store if args.store.exists() else work / "store",
                       args.modalities.split(","), work)
    store_seconds = time.perf_counter() - tic
    settings = resolve_run_settings(load_yaml(REPO / "config.yaml"), DEMO,
                                    [f"train.device={args.device}", "train.epochs=2", "train.precision=auto",
                                     f"model.modalities={json.dumps(sorted(store.modalities))}"])
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    reference = train_run(store.root, settings, work / "uninterrupted", progress=False)

    def interrupt(record: dict) -> None:
        if record["epoch"] == 1:
            raise Interrupted

    run = work / "resumed"
    try:
        train_run(store.root, settings, run, progress=False, on_epoch=interrupt)
        raise AssertionError("the run was not interrupted")
    except Interrupted:
        pass
    resumed = train_run(store.root, settings, run, progress=False)
    peak = torch.cuda.max_memory_allocated() if cuda else None

    history = read_history(run / "history.jsonl")
    expected = read_history(work / "uninterrupted" / "history.jsonl")
    same = [r["validation_loss"] for r in history] == [r["validation_loss"] for r in expected]
    predicted = multiemo(["--quiet", "predict", "--run", str(run), "--manifest",
                          str(manifest_of_test(store, work / "manifest.csv")),
                          "--out", str(work / "predictions"), "--device", "auto"])
    result = {
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "store": str(store.root), "modalities": sorted(store.modalities), "utterances": len(store),
        "store_seconds": round(store_seconds, 1),
        "precision": json.loads((run / "settings.json").read_text())["train"]["precision"],
        "epoch_seconds": [round(r["seconds"], 3) for r in history],
        "uninterrupted_epoch_seconds": [round(r["seconds"], 3) for r in expected],
        "peak_gpu_memory_mib": round(peak / 2**20, 1) if peak is not None else None,
        "resumed_equals_uninterrupted": same,
        "test_weighted_f1": {"resumed": resumed["test"]["weighted_f1"],
                             "uninterrupted": reference["test"]["weighted_f1"]},
        "predict_exit_code": predicted,
    }
    print(json.dumps(result))
    return 0 if predicted == 0 and len(history) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
