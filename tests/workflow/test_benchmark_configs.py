"""The documented benchmark targets plan what the README and BENCHMARKS.md say they run (dry runs only).

Planning reads each corpus it builds (rules/common.smk), so each test plans in a working folder where the
config's relative roots resolve: ``../shared`` is the real data beside the clone (MELD and EmoryNLP CSVs), and
the paper overlay's ``data/MELD.Raw`` and ``data/IEMOCAP_full_release`` are generated layouts (a small MELD
layout with an empty clip per row; a small IEMOCAP release): the job counts depend on the shards, not on the
corpus's size or the clips' content."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import REPO
from tests.corpora.test_iemocap import _write_release as write_iemocap_release
from tests.workflow.conftest import make_planning_meld, planned_jobs, snakemake

pytestmark = pytest.mark.slow  # Snakemake dry runs of the full benchmark configs


@pytest.fixture
def workdir(tmp_path, shared_data):
    """A working folder with the repository's config, where ``../shared/data`` is the real data."""
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "shared").symlink_to(shared_data.parent, target_is_directory=True)
    shutil.copy(REPO / "config.yaml", work / "config.yaml")
    return work


def test_meld_text_targets_plan_frozen_and_finetuned_runs(workdir):
    jobs = planned_jobs(snakemake(workdir, "--dry-run", "train_meld_text", "train_meld_text_ft"))
    # One fine-tuning job (meld_text_ft only); 2 datasets x 2 variants x 5 seeds of training.
    assert jobs["read_corpus"] == 2 and jobs["text_features"] == 2 and jobs["finetune_text_encoder"] == 1
    assert jobs["train"] == 20 and jobs["aggregate_seeds"] == 4 and jobs["make_report"] == 2
    assert not {"audio_features", "visual_features"} & set(jobs)  # annotations only: no clips needed


def test_paper_overlay_plans_the_full_setting(workdir):
    make_planning_meld(workdir / "data" / "MELD.Raw")
    write_iemocap_release(workdir / "data" / "IEMOCAP_full_release")
    # Targets first: --configfile takes every argument after it.
    proc = snakemake(
        workdir,
        "train_meld",
        "train_iemocap",
        "--dry-run",
        "--configfile",
        str(REPO / "workflow" / "configs" / "paper.yaml"),
    )
    jobs = planned_jobs(proc)
    assert jobs["finetune_text_encoder"] == 2 and jobs["train"] == 10
    assert jobs["audio_features"] == jobs["visual_features"] == 16  # 8 shards x 2 datasets
    assert "results/paper/meld/store" in proc.stdout + proc.stderr
    # What each job asks the scheduler for: a GPU for the neural stages only (roberta-large text features,
    # face embedding, text fine-tuning, training), none for openSMILE or the light stages.
    gpus = _gpus_by_rule(proc.stdout + proc.stderr)
    assert {
        rule: gpus[rule] for rule in ("text_features", "visual_features", "finetune_text_encoder", "train")
    } == {"text_features": {1}, "visual_features": {1}, "finetune_text_encoder": {1}, "train": {1}}
    assert gpus["audio_features"] == gpus["read_corpus"] == gpus["assemble_store"] == {0}


def _gpus_by_rule(log: str) -> dict[str, set[int]]:
    """Rule -> the gpu resource values its jobs declare, from a dry run's job listing."""
    gpus: dict[str, set[int]] = {}
    for block in re.split(r"^rule ", log, flags=re.MULTILINE)[1:]:
        rule = block.split(":", 1)[0]
        match = re.search(r"^\s+resources: .*?\bgpu=(\d+)", block, re.MULTILINE)
        gpus.setdefault(rule, set()).add(int(match.group(1)) if match else 0)
    return gpus


def test_emorynlp_targets_plan_text_only_runs(workdir):
    jobs = planned_jobs(snakemake(workdir, "--dry-run", "train_emorynlp_text", "train_emorynlp_text_ft"))
    # emorynlp_text: 2 variants x 5 seeds; emorynlp_text_ft: 1 variant x 5 seeds after one fine-tuning job.
    assert jobs["read_corpus"] == 2 and jobs["finetune_text_encoder"] == 1 and jobs["train"] == 15
    assert not {"audio_features", "visual_features"} & set(jobs)
