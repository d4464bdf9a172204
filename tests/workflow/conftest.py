"""A tiny MELD-layout corpus with real clips, and a helper that runs the real Snakemake workflow on it."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.clips import write_clip
from tests.conftest import REPO, local_snakemake_env
from tests.features.conftest import _speech, astronaut_frame

MELD_COLUMNS = ["Sr No.", "Utterance", "Speaker", "Emotion", "Sentiment", "Dialogue_ID", "Utterance_ID",
                "Season", "Episode", "StartTime", "EndTime"]
PARTS = {"train": ("train_sent_emo.csv", "train_splits"), "dev": ("dev_sent_emo.csv", "dev_splits_complete"),
         "test": ("test_sent_emo.csv", "output_repeated_splits_test")}
EMOTIONS = ["neutral", "joy", "anger"]


def make_mini_meld(root: Path, dialogues: dict[str, int], utterances: int = 3) -> Path:
    """MELD-layout corpus: ``dialogues`` per part; train dia0 utt1 is missing and train dia0 utt2 corrupt."""
    speech = _speech()[:16000]
    rng = np.random.default_rng(0)
    frame = astronaut_frame()
    for part, count in dialogues.items():
        csv_name, folder = PARTS[part]
        (root / folder).mkdir(parents=True, exist_ok=True)
        rows = []
        for d in range(count):
            for u in range(utterances):
                emotion = EMOTIONS[(d + u) % len(EMOTIONS)]
                rows.append([len(rows) + 1, f"I feel {emotion} about this, “really”.",
                             ["Ross", "Rachel"][u % 2], emotion, "neutral", d, u, 1, 1, "00:00:01,000",
                             "0:00:02,000"])
                clip = root / folder / f"dia{d}_utt{u}.mp4"
                if part == "train" and d == 0 and u == 1:
                    continue  # listed but missing, as in the real release
                if part == "train" and d == 0 and u == 2:
                    clip.write_bytes(rng.bytes(300))  # unreadable
                    continue
                gain = 0.5 + 0.5 * EMOTIONS.index(emotion)
                frames = np.repeat(frame[None], 12, axis=0)
                write_clip(clip, frames=frames, fps=12, audio=np.clip(speech * gain, -1, 1),
                           sample_rate=16000)
        pd.DataFrame(rows, columns=MELD_COLUMNS).to_csv(root / csv_name, index=False)
    return root


def make_planning_meld(root: Path, dialogues: int = 12, utterances: int = 2) -> Path:
    """A MELD layout for dry runs: ``dialogues`` per part of ``utterances`` rows each, an empty clip per row.

    Planning reads the corpus (its annotations, the clips each shard job takes as input) but never opens a
    clip; what a dry run plans depends on the shards and settings, not on the corpus's size (the MELD-scale
    figure is ``benchmarks/workflow_planning.py``'s)."""
    for csv_name, folder in PARTS.values():
        (root / folder).mkdir(parents=True)
        rows = []
        for d in range(dialogues):
            for u in range(utterances):
                emotion = EMOTIONS[(d + u) % len(EMOTIONS)]
                rows.append([len(rows) + 1, f"I feel {emotion}.", ["Ross", "Rachel"][u % 2], emotion,
                             "neutral", d, u, 1, 1, "00:00:01,000", "00:00:02,000"])
                (root / folder / f"dia{d}_utt{u}.mp4").touch()
        pd.DataFrame(rows, columns=MELD_COLUMNS).to_csv(root / csv_name, index=False)
    return root


def write_config(workdir: Path, corpus: Path, **dataset) -> Path:
    """A workflow config: the repo's config.yaml with a small 'mini' dataset as the default target."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["dataset"] = "mini"
    config["datasets"]["mini"] = {
        "reader": "meld", "root": str(corpus), "modalities": ["text", "audio", "visual"], "preset": "meld",
        "shards": 2, "seeds": [1], "variants": ["full", "text"],
        "model": {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "classifier_hidden": 16},
        "train": {"epochs": 2, "batch_size": 2},
        "extraction": {"audio": {"feature_set": "eGeMAPSv02"}, "visual": {"num_frames": 2},
                       "text": {"batch_size": 8}},
        **dataset,
    }
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake(
    workdir: Path, *args: str, check: bool = True, cluster: bool = False
) -> subprocess.CompletedProcess:
    """Run the repository's workflow with ``workdir`` as working directory (its config.yaml is used);
    ``cluster``: the run submits to SLURM, so it sees the real `scontrol`
    (tests.conftest.local_snakemake_env)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(workdir),
           "--cores", "2", *args]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env = env if cluster else local_snakemake_env(env)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    lines = text[text.index("Job stats:"):].splitlines()[3:]
    jobs = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        jobs[parts[0]] = int(parts[1])
    return jobs


def _report_variable(page: str, name: str):
    match = re.search(rf'<script id="{name}">\s*var {name} = (.*?);\s*</script>', page, re.DOTALL)
    assert match, f"no `var {name}` in Snakemake's report"
    return json.loads(match.group(1))


def report_items(report_html: Path) -> list[dict]:
    """The items of a Snakemake HTML report as its page embeds them, each with the ``category`` it is filed
    under."""
    page = report_html.read_text(encoding="utf-8")
    results = _report_variable(page, "results")
    for category, subcategories in _report_variable(page, "categories").items():
        for paths in subcategories.values():
            for path in paths:
                results[path]["category"] = category
    return list(results.values())


def item_bytes(item: dict) -> bytes:
    """The file an item of the report embeds (its base64 data URI)."""
    return base64.b64decode(item["data_uri"].rsplit("base64,", 1)[1])


def finished_mini_run(workdir: Path) -> Path:
    """The whole workflow run on a new mini corpus in ``workdir`` (its ``corpus/``); returns ``workdir``."""
    corpus = make_mini_meld(workdir / "corpus", {"train": 4, "dev": 2, "test": 2})
    write_config(workdir, corpus)
    snakemake(workdir)
    return workdir


@pytest.fixture(scope="module")
def mini_run(tmp_path_factory) -> Path:
    """A completed workflow run on the mini corpus; returns its working directory."""
    return finished_mini_run(tmp_path_factory.mktemp("workflow"))
