"""The README runs as written: every command of its fenced shell and Python blocks, in document order.

The commands run in one working copy of the repository's layout (``config.yaml``, ``workflow/``) whose
default dataset is the bundled demo corpus, made demo-sized by that copy's config (one seed, one variant,
3 epochs; the commands themselves are not changed). Files the README assumes a user has are made here
first: a video with subtitles (``talk.mp4``, ``talk.srt``), an audio-only call (the real one of
``../shared/data`` when present), a manifest of clips, small feature pickles in each published structure.
The placeholders STORE and RUN become the small imported store and a fresh run directory.

How each command is checked is stated in :data:`HOW`: ``run`` (for real), ``dry`` (``snakemake -n``: it
needs a GPU, a cluster, conda channels or a corpus that is not here), ``make`` (``make -n``: the Makefile
target exists and says what it runs; ``make test`` is this suite). A README command missing from
:data:`HOW` fails the test, so a new command has to say how it is checked.
"""

from __future__ import annotations

import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import yaml

from benchmarks.workflow_planning import make_layout
from tests.conftest import REPO, SHARED_DATA
from tests.conversations.conftest import SR, talk_audio, write_talk
from tests.corpora.test_iemocap import _write_release as write_iemocap_release
from tests.data.test_legacy import _dialogues as dialogues
from tests.data.test_legacy import _mf as male_female
from tests.data.test_legacy import _one_hot as one_hot
from tests.data.test_legacy import _write_release as write_release

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)

#: README command (continuations joined, comment dropped; a here-document by its first line) -> how it
#: is checked.
HOW = {
    "make demo": "make",
    "make test": "make",
    "make lock": "make",
    "snakemake --cores 8": "run",
    # conda channels are unreachable here; tests/deploy runs it for real
    "snakemake --cores 8 --use-conda": "dry",
    "snakemake --cores 8 train_meld": "dry",  # MELD's videos (10 GB)
    "snakemake --cores 8 features_iemocap": "dry",  # IEMOCAP (licensed)
    "snakemake --report results/report.html": "run",
    "snakemake --profile workflow/profiles/slurm train_meld": "dry",  # a cluster; tests/deploy runs one
    "snakemake --cores 8 --rerun-incomplete": "run",
    "snakemake --unlock": "run",
    "mkdir -p my_features": "run",
    "python - <<'EOF'": "run",
    "multiemo import-features my_features/manifest.csv my_features/store "
    "--features text=my_features/text.npy --features audio=my_features/audio.npz --labels joy,anger": "run",
    "multiemo train --dataset meld --features my_features/store --out my_features/run "
    "model.modalities=[text,audio] train.epochs=3": "run",
    "multiemo import-legacy --dataset meld data/MultiEMO/MELD stores/meld_legacy": "run",
    "multiemo import-legacy --format mmgcn --dataset meld "
    "data/MMGCN/MELD_features_raw1.pkl stores/meld_mmgcn": "run",
    "multiemo import-legacy --format cosmic --dataset iemocap data/COSMIC/iemocap_features_roberta.pkl "
    "stores/iemocap_cosmic": "run",
    "multiemo train --dataset meld --features stores/meld_legacy --out runs/meld_legacy "
    "--seeds 1,2,3,4,5": "run",
    "multiemo train --dataset meld --features results/meld/store --out runs/meld --seeds 1,2,3,4,5": "run",
    "multiemo train --dataset iemocap --features STORE --out RUN "
    "train.epochs=50 model.fusion=false": "run",
    "multiemo train --config config.yaml --dataset meld_text --features STORE --seeds 1,2 "
    "train.selection=loss --out RUN train.patience=5": "run",
    "multiemo evaluate runs/meld/seed_1 --split test": "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --video talk.mp4 --transcript talk.srt "
    "--out predictions/": "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --video talk.mp4 --out predictions/": "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --video call.wav --out predictions/ "
    "--set diarization.num_speakers=2": "run",
    "multiemo predict --run results/demo/runs/full/seed_1 --manifest clips/manifest.csv "
    "--out predictions/": "run",
    "multiemo export results/demo/runs/full/seed_1 models/demo": "run",
    "multiemo predict --model models/demo --video talk.mp4 --transcript talk.srt --out predictions/": "run",
    "snakemake --cores 8 --configfile=workflow/configs/paper.yaml train_meld": "dry",  # GPU, MELD's videos
    "snakemake --cores 8 --configfile=workflow/configs/paper.yaml train_iemocap": "dry",  # GPU, IEMOCAP
    "multiemo train --dataset meld --features stores/meld_legacy --out runs/meld_legacy_paper "
    "--seeds 1,2,3,4,5 train.hgr_covariance=legacy": "run",
    "snakemake --profile workflow/profiles/slurm --use-conda train_meld": "dry",
    "snakemake --profile workflow/profiles/slurm --slurm-no-account train_meld": "dry",
}

#: Placeholders of the README: a feature store (the small imported one) and a fresh run directory per command.
STORE = "stores/meld_legacy"
HEREDOC = re.compile(r"<<-?\s*'?(\w+)'?\s*$")


def readme_commands(text: str) -> list[tuple[str, str, str]]:
    """(language, key, command) of every fenced shell command and ``python`` block, in document order.

    A shell command's key is its line, continuations joined and comment dropped; a here-document is one
    command, keyed by its first line.
    """
    commands = []
    for match in FENCE.finditer(text):
        language, body = match.group(1), match.group(2)
        if language == "python":
            commands.append(("python", "python", body))
        elif language in ("bash", "sh", "shell", "console"):
            lines = body.replace("\\\n", " ").splitlines()
            while lines:
                line = lines.pop(0)
                key = re.sub(r"\s+", " ", line.split("#", 1)[0]).strip()
                if not key:
                    continue
                heredoc = HEREDOC.search(key)
                if heredoc:
                    end = lines.index(heredoc.group(1))
                    line = "\n".join([line, *lines[: end + 1]])
                    del lines[: end + 1]
                commands.append(("bash", key, line if heredoc else key))
    return commands


def test_every_readme_command_says_how_it_is_checked():
    keys = [key for lang, key, _ in readme_commands((REPO / "README.md").read_text(encoding="utf-8"))
            if lang == "bash"]
    missing = [key for key in keys if key not in HOW]
    assert not missing, f"README commands with no entry in tests/test_readme.py HOW: {missing}"
    stale = sorted(set(HOW) - set(keys))
    assert not stale, f"HOW entries no longer in the README: {stale}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The repository's layout with a demo-sized config, and the files the README assumes a user has."""
    work = tmp_path_factory.mktemp("readme")
    (work / "workflow").symlink_to(REPO / "workflow")
    config = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    demo = config["datasets"]["demo"]
    demo.update(variants=["full"], seeds=[1])
    demo["train"] = {**demo.get("train", {}), "epochs": 3}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    write_talk(work)  # talk.mp4, talk.srt
    _write_call(work / "call.wav")
    _write_clip_manifest(work / "clips")
    _write_releases(work / "data")
    # What the dry-run targets plan from (planning reads each corpus): MELD's layout with an empty clip
    # per row (its real annotations when ../shared is there) and a small IEMOCAP release.
    make_layout(work / "data" / "MELD.Raw", SHARED_DATA / "meld")
    write_iemocap_release(work / "data" / "IEMOCAP_full_release")
    return work


# the demo workflow, training and prediction as a user runs them: minutes (make test-deploy)
@pytest.mark.deploy
def test_readme_commands_run_as_written(workdir):
    runs = 0
    for language, key, command in readme_commands((REPO / "README.md").read_text(encoding="utf-8")):
        if language == "python":
            proc = _run([sys.executable, "-c", command], workdir)
        else:
            runs += 1
            proc = _run_command(key, command, workdir, run=f"runs/placeholder_{runs}")
        assert proc.returncode == 0, (
            f"README command failed ({proc.returncode}): {command}\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    # The commands did what the README says.
    assert (workdir / "results" / "report.html").stat().st_size > 0
    assert (workdir / "models" / "demo" / "model.safetensors").is_file()
    # talk.srt's cues, through the export
    assert len(pd.read_csv(workdir / "predictions" / "predictions.csv")) == 3
    assert sorted(p.name for p in (workdir / "runs" / "meld_legacy").iterdir()
                  if p.name.startswith("seed_")) == [f"seed_{s}" for s in range(1, 6)]
    # iemocap, and meld_text's 2 seeds
    assert len(list(workdir.glob("runs/placeholder_*/**/metrics.json"))) == 3
    assert (workdir / "my_features" / "run" / "metrics.json").is_file()


def _run_command(key: str, command: str, workdir: Path, *, run: str) -> subprocess.CompletedProcess:
    """A README shell command as :data:`HOW` says: for real, planned (``-n``) or, for make, ``make -n``."""
    how = HOW[key]
    if how == "make":
        return _run(["make", "-n", *key.split()[1:]], REPO)
    command = re.sub(r"\bSTORE\b", STORE, re.sub(r"\bRUN\b", run, command))
    path = None
    if how == "dry":
        assert key.startswith("snakemake "), key
        command += " --dry-run"
        if "--use-conda" in key:
            # Snakemake asks conda for its version even when planning: the stand-in answers
            path = REPO / "tests" / "deploy" / "conda" / "bin"
    if "--features results/meld/store" in key and not (workdir / "results" / "meld" / "store").exists():
        # MELD's store, as the workflow makes it under results/meld/: the small imported store stands in.
        (workdir / "results" / "meld").mkdir(parents=True, exist_ok=True)
        (workdir / "results" / "meld" / "store").symlink_to(workdir / STORE)
    return _run(["bash", "-euo", "pipefail", "-c", command], workdir, path)


def _run(cmd: list[str], cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess:
    """``cmd`` in ``cwd`` with this venv's commands (and ``path``, when given) first on PATH."""
    prefix = f"{path}:" if path else ""
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "PATH": f"{prefix}{Path(sys.executable).parent}:{os.environ['PATH']}"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=1200, check=False)


def _write_call(path: Path) -> None:
    """An audio-only recording: the real two-speaker call of ../shared/data when present, else the
    generated talk."""
    real = SHARED_DATA / "conversation" / "sample.wav"
    if real.is_file():
        path.write_bytes(real.read_bytes())
    else:
        soundfile.write(path, talk_audio(), SR)


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


def _write_releases(data: Path) -> None:
    """Small feature pickles with the structures tests/data/test_legacy.py documents: the MultiEMO release
    (MELD), MMGCN's MELD_features_raw1.pkl and COSMIC's iemocap_features_roberta.pkl."""
    (data / "MultiEMO" / "MELD").mkdir(parents=True)
    train, test = [0, 1, 2, 3, 1039, 1040], [1153, 1154]
    write_release(data / "MultiEMO" / "MELD", "meld", train, test, {v: 3 + v % 3 for v in train + test})
    rng = np.random.default_rng(0)
    d = dialogues(rng, train + test, 3, {"t": 60, "a": 30, "v": 34}, speakers=one_hot)
    sentiment = {v: [0] * 3 for v in train + test}
    (data / "MMGCN").mkdir()
    (data / "MMGCN" / "MELD_features_raw1.pkl").write_bytes(pickle.dumps(
        (d["ids"], d["speakers"], d["labels"], d["t"], d["a"], d["v"], d["sentences"], train, test,
         sentiment),
        protocol=2))
    ids = ["Ses01_a", "Ses01_b", "Ses02_a", "Ses05_a", "Ses04_v"]
    d = dialogues(rng, ids, 2, {f"r{k}": 32 for k in range(1, 5)}, speakers=male_female)
    layers = [{v: list(d[f"r{k}"][v]) for v in ids} for k in range(1, 5)]
    (data / "COSMIC").mkdir()
    (data / "COSMIC" / "iemocap_features_roberta.pkl").write_bytes(pickle.dumps(
        (d["speakers"], d["labels"], *layers, d["sentences"], ids[:3], ids[3:4], ids[4:]), protocol=4))
