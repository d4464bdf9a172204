"""The workflow used as a Snakemake module from another project (what snakedeploy sets up), from a local
clone."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO, local_snakemake_env
from tests.workflow.conftest import planned_jobs

pytestmark = pytest.mark.slow  # Snakemake runs

USER_SNAKEFILE = """\
configfile: "config/config.yaml"


module multiemo:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from multiemo as multiemo_*
"""


def test_a_project_using_the_workflow_as_a_module_plans_and_runs_it(tmp_path):
    (tmp_path / "workflow").mkdir()
    user_snakefile = USER_SNAKEFILE.format(snakefile=REPO / "workflow" / "Snakefile")
    (tmp_path / "workflow" / "Snakefile").write_text(user_snakefile)
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    # the user's own paths
    config["datasets"]["demo"]["root"] = str(REPO / "workflow" / "demo" / "meld_layout")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))

    def snakemake(*args):
        env = local_snakemake_env({**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
        return subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=600, check=False)

    plan = snakemake("--dry-run")
    assert plan.returncode == 0, plan.stderr[-4000:]
    jobs = planned_jobs(plan)
    assert jobs["multiemo_train"] == 15 and jobs["multiemo_make_report"] == 1, jobs  # 5 variants x 3 seeds
    # A real job: the rule's script, log and benchmark paths resolve from the module, outputs land in the
    # project.
    run = snakemake("results/demo/corpus")
    assert run.returncode == 0, run.stderr[-4000:]
    assert (tmp_path / "results" / "demo" / "corpus").is_dir()
    assert (tmp_path / "logs" / "demo" / "read_corpus.log").is_file()
