"""The reduced demo through the SLURM profile on a real one-node cluster, with the real executor plugin."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.conftest import REPO
from tests.deploy.conftest import reduced_demo
from tests.workflow.conftest import snakemake

# No slurmdbd here, so no sacct: the plugin reads job states from squeue (see .ci/slurm-cluster).
TEST_CLUSTER_ARGS = ("--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "5",
                     "--slurm-no-account")


def _submitted(output: str) -> dict[str, list[str]]:
    """Rule -> SLURM job ids, from Snakemake's log of the run (the plugin logs to
    slurm_logs/rule_NAME/...)."""
    jobs: dict[str, list[str]] = {}
    for job_id, rule in re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/",
                                   output):
        jobs.setdefault(rule, []).append(job_id)
    return jobs


def _slurm_record(job_id: str) -> dict[str, str]:
    text = subprocess.run(["scontrol", "show", "job", job_id], capture_output=True, text=True,
                          check=True).stdout
    return dict(item.split("=", 1) for item in text.split() if "=" in item)


@pytest.mark.slow
@pytest.mark.deploy
def test_reduced_demo_on_slurm_gives_the_local_report(slurm_cluster, tmp_path):
    local = reduced_demo(tmp_path / "local")
    cluster = reduced_demo(tmp_path / "cluster", corpus=local / "corpus")
    snakemake(local)
    proc = snakemake(cluster, "--profile", str(REPO / "workflow" / "profiles" / "slurm"), *TEST_CLUSTER_ARGS,
                     cluster=True)
    output = proc.stdout + proc.stderr

    report = "results/mini/report"
    assert json.loads((cluster / report / "summary.json").read_text())["variants"] == \
        json.loads((local / report / "summary.json").read_text())["variants"]
    assert (cluster / report / "results.md").read_text() == (local / report / "results.md").read_text()

    jobs = _submitted(output)
    assert {"read_corpus", "audio_features", "visual_features", "text_features", "assemble_store",
            "train"} <= set(jobs), output[-3000:]
    assert not {"aggregate_seeds", "make_report"} & set(jobs), "localrules must not become cluster jobs"
    for rule, ids in jobs.items():
        for job_id in ids:
            record = _slurm_record(job_id)  # kept by slurmctld for MinJobAge after the job ends
            assert record["JobState"] == "COMPLETED", (rule, record)
            if rule == "train":
                assert record["Partition"] == "gpu" and record.get("TresPerJob") == "gres:gpu:1", record
            else:
                assert record["Partition"] == "cpu" and "gpu" not in record.get("TresPerJob", ""), (rule,
                                                                                                    record)
