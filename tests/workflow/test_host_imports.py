"""The environment that runs Snakemake needs multiemo's core and the workflow extra, not torch.

With `--use-conda`, each rule's job runs in its own env; the host only parses the Snakefile, which reads
settings and registries. A stand-in `torch` that refuses to import proves the parse never reaches it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

from tests.conftest import REPO, local_snakemake_env


def test_the_snakefile_loads_and_plans_without_torch(tmp_path):
    blocker = tmp_path / "no_torch" / "torch"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("torch must not be imported by the Snakefile")\n')
    env = local_snakemake_env({**os.environ, "PYTHONPATH": str(blocker.parent)})
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"]["demo"]["root"] = str(REPO / "workflow" / "demo" / "meld_layout")  # planning reads it
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "-d", str(tmp_path / "work"),
         "-s", str(REPO / "workflow" / "Snakefile"), "--configfile", str(tmp_path / "config.yaml"),
         "--config", f"results={tmp_path / 'results'}"],
        check=False, cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "torch must not be imported" not in done.stdout + done.stderr
