"""The README runs as written: every command of its fenced shell and Python blocks, in document order.

The commands run in one working copy of the repository's layout (``config.yaml``, ``workflow/``) whose default
dataset is the bundled demo corpus, made demo-sized by that copy's config (one seed, one variant, 3 epochs, and a tiny model with one epoch
in the presets that `multiemo train` reads; the commands themselves are not changed). Files the README assumes a user has are made here first: a video with
subtitles (``talk.mp4``, ``talk.srt``), a manifest of clips, the original release's feature pickles.

How each command is checked is stated in :data:`HOW`: ``run`` (for real), ``dry`` (``snakemake -n``: it needs a
GPU, a cluster, conda channels or a corpus that is not here), ``make`` (``make -n``: the Makefile target exists and
says what it runs; ``make test`` is this suite). A README command missing from :data:`HOW` fails the test, so a new
command has to say how it is checked.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.predict.conftest import write_talk

pytestmark = pytest.mark.slow  # the demo workflow, training and prediction, as a user runs them

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: README command (continuations joined, comment dropped) -> how it is checked here.
HOW = {
    "make demo": "make",
    "make test": "make",
    "snakemake --cores 8": "run",
    "snakemake --cores 8 --use-conda": "dry",  # conda channels are unreachable here; tests/deploy runs it for real
    "snakemake --cores 8 train_meld": "dry",  # MELD's videos (10 GB)
    "snakemake --cores 8 features_iemocap": "dry",  # IEMOCAP (licensed)
    "snakemake --report results/report.html": "run",
    "snakemake --profile workflow/profiles/slurm train_meld": "dry",  # a cluster; tests/deploy runs one
    "snakemake --cores 8 --rerun-incomplete": "run",
    "snakemake --unlock": "run",
    "multiemo import-legacy --dataset meld data/MultiEMO/MELD stores/meld_legacy": "run",
    "multiemo train --dataset meld --features stores/meld_legacy --out runs/meld_legacy --seeds 1,2,3,4,5": "run",
    "multiemo train --dataset meld --features results/meld/store --out runs/meld --seeds 1,2,3,4,5": "run",
    "multiemo train --dataset iemocap --features STORE --out RUN train.epochs=50 model.fusion=false": "run",
    "multiemo evaluate runs/meld/seed_1 --split test": "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --video talk.mp4 --transcript talk.srt --out predictions/":
        "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --video talk.mp4 --out predictions/": "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --manifest clips/manifest.csv --out predictions/": "run",
    "snakemake --cores 8 --configfile=workflow/configs/paper.yaml train_meld": "dry",  # GPU, MELD's videos
    "snakemake --cores 8 --configfile=workflow/configs/paper.yaml train_iemocap": "dry",  # GPU, IEMOCAP
    "multiemo train --dataset meld --features stores/meld_legacy --out runs/meld_legacy_paper --seeds 1,2,3,4,5 "
    "train.hgr_covariance=legacy": "run",
    "snakemake --profile workflow/profiles/slurm --use-conda train_meld": "dry",
    "snakemake --profile workflow/profiles/slurm --slurm-no-account train_meld": "dry",
}

#: The presets' model in the working copy: the README's training commands (5 seeds, 50 epochs) run in seconds.
TINY_MODEL = {"model_dim": 16, "num_heads": 2, "hidden_dim": 32, "classifier_hidden": 16, "num_layers": 1}

#: Placeholders of the README, and what stands in for them here.
PLACEHOLDERS = {"STORE": "results/demo/store", "RUN": "runs/iemocap_placeholder"}


def readme_commands(text: str) -> list[tuple[str, str]]:
    """(language, command) of every fenced ``bash`` line and every ``python`` block, in document order."""
    commands = []
    for match in FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        if language == "python":
            commands.append(("python", body))
        elif language in ("bash", "sh", "shell", "console"):
            for line in body.replace("\\\n", " ").splitlines():
                command = re.sub(r"\s+", " ", line.split("#", 1)[0]).strip()
                if command:
                    commands.append(("bash", command))
    return commands


def test_every_readme_command_says_how_it_is_checked():
    commands = [c for lang, c in readme_commands((REPO / "README.md").read_text(encoding="utf-8")) if lang == "bash"]
    missing = [c for c in commands if c not in HOW]
    assert not missing, f"README commands with no entry in tests/test_readme.py HOW: {missing}"
    stale = sorted(set(HOW) - set(commands))
    assert not stale, f"HOW entries no longer in the README: {stale}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The repository's layout with a demo-sized config, and the files the README assumes a user has."""
    work = tmp_path_factory.mktemp("readme")
    (work / "workflow").symlink_to(REPO / "workflow")
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    demo = config["datasets"]["demo"]
    demo.update(variants=["full"], seeds=[1])
    demo["train"] = {**demo["train"], "epochs": 3}
    for preset in config["presets"].values():  # what `multiemo train --dataset meld|iemocap` reads here
        preset["model"] = {**preset.get("model", {}), **TINY_MODEL}
        preset["train"] = {**preset.get("train", {}), "epochs": 1}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    write_talk(work)  # talk.mp4, talk.srt
    _write_clip_manifest(work / "clips")
    _write_release(work / "data" / "MultiEMO" / "MELD")
    return work


def test_readme_commands_run_as_written(workdir):
    for language, command in readme_commands((REPO / "README.md").read_text(encoding="utf-8")):
        if language == "python":
            proc = _run([sys.executable, "-c", command], workdir)
        else:
            proc = _run_command(command, workdir)
        assert proc.returncode == 0, (
            f"README command failed ({proc.returncode}): {command}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    # The commands did what the README says.
    assert (workdir / "results" / "report.html").stat().st_size > 0
    assert len(pd.read_csv(workdir / "predictions" / "predictions.csv")) == 3  # the manifest's clips, written last
    assert sorted(p.name for p in (workdir / "runs" / "meld_legacy").iterdir() if p.name.startswith("seed_")) == [
        f"seed_{s}" for s in range(1, 6)]
    assert (workdir / "runs" / "iemocap_placeholder" / "metrics.json").is_file()


def _run_command(command: str, workdir: Path) -> subprocess.CompletedProcess:
    how = HOW[command]
    words = [PLACEHOLDERS.get(w, w) for w in command.split()]
    if how == "make":
        return _run(["make", "-n", *words[1:]], REPO)
    path = None
    if how == "dry":
        assert words[0] == "snakemake", command
        words.append("--dry-run")
        if "--use-conda" in words:  # Snakemake asks conda for its version even when planning: the stand-in answers
            path = REPO / "tests" / "deploy" / "conda" / "bin"
    if command.startswith("multiemo train --dataset meld --features results/meld/store"):
        # MELD's store: the demo's stands in for it (what the workflow made under results/meld/ on MELD).
        (workdir / "results" / "meld").mkdir(parents=True, exist_ok=True)
        store = workdir / "results" / "meld" / "store"
        if not store.exists():
            store.symlink_to(workdir / "results" / "demo" / "store")
    return _run([str(Path(sys.executable).parent / words[0]) if words[0] in ("snakemake", "multiemo") else words[0],
                 *words[1:]], workdir, path)


def _run(cmd: list[str], cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess:
    """``cmd`` in ``cwd`` with this venv's commands (and ``path``, when given) first on PATH."""
    prefix = f"{path}:" if path else ""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{prefix}{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200, check=False)


def _write_clip_manifest(folder: Path) -> None:
    """Three test clips of the demo corpus, as the README's own-corpus manifest."""
    demo = REPO / "workflow" / "demo" / "meld_layout"
    rows = pd.read_csv(demo / "test_sent_emo.csv").head(3)
    folder.mkdir(parents=True)
    pd.DataFrame({
        "dialogue_id": [f"dia{d}" for d in rows["Dialogue_ID"]],
        "utterance_id": rows["Utterance_ID"],
        "speaker": rows["Speaker"],
        "text": rows["Utterance"],
        "media": [str(demo / "output_repeated_splits_test" / f"dia{d}_utt{u}.mp4")
                  for d, u in zip(rows["Dialogue_ID"], rows["Utterance_ID"])],
    }).to_csv(folder / "manifest.csv", index=False)


def _write_release(root: Path) -> None:
    """The original MultiEMO release's MELD pickles, small (the structure tests/data/test_legacy.py documents)."""
    from tests.data.test_legacy import _write_release as write

    root.mkdir(parents=True)
    train, test = [0, 1, 2, 3, 1039, 1040], [1153, 1154]
    write(root, "meld", train, test, {v: 3 + v % 3 for v in train + test})
