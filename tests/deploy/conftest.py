"""Deployment tests run the reduced demo the way users deploy it; they are slow, so only `make test-deploy`
runs them."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import REPO
from tests.workflow.conftest import make_mini_meld, write_config

CLUSTER = REPO / ".ci" / "slurm-cluster"


def reduced_demo(workdir, corpus=None):
    """A working directory holding the reduced demo's config (the workflow tests' mini MELD corpus)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if corpus is None:
        corpus = make_mini_meld(workdir / "corpus", {"train": 4, "dev": 2, "test": 2})
    write_config(workdir, corpus)
    return workdir


@pytest.fixture(scope="session")
def slurm_cluster():
    """The one-node cluster of .ci/slurm-cluster, brought up (installed first when root); skips without
    root."""
    proc = subprocess.run([str(CLUSTER), "up"], capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode == 3:
        pytest.skip(f"no SLURM cluster: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return proc.stderr
