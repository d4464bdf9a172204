"""The reduced demo with --use-conda through Snakemake's own conda code path, with a stand-in `conda`.

tests/deploy/conda/bin/conda creates each env as conda does from Snakemake's copy of envs/*.yaml (a venv, then
the file's pip section run from the copy's folder). Snakemake appends the host's sys.path to every script
as a fallback, so a library missing from an env would be found silently in the test venv: a hook in each job
keeps only the host's Snakemake (needed to unpickle its `snakemake` object) and records where every module
came from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import REPO
from tests.deploy.conftest import reduced_demo

STAND_IN = REPO / "tests" / "deploy" / "conda" / "bin"
HOST = Path(sys.prefix)

AUDIT_HOOK = '''
import atexit, json, os, sys

HOST, HOST_VIEW = os.environ["MULTIEMO_AUDIT_HOST"], os.environ["MULTIEMO_AUDIT_HOST_VIEW"]


class SearchPath(list):
    """Snakemake's preamble appends the host's sys.path: keep only the host's view of Snakemake itself."""

    def extend(self, paths):
        paths = [p for p in paths if not p.startswith(HOST)]
        super().extend(paths + ([HOST_VIEW] if HOST_VIEW not in self else []))


def _record():
    modules = {name: getattr(m, "__file__", None) for name, m in list(sys.modules.items()) if "." not in name}
    path = os.path.join(os.environ["MULTIEMO_IMPORT_AUDIT"], f"{os.getpid()}.json")
    with open(path, "w") as f:
        json.dump({"prefix": sys.prefix, "script": sys.argv[0], "modules": modules}, f)


if ".snakemake/scripts/" in (sys.argv[0] if sys.argv else ""):  # a job: Snakemake runs its copy of the script
    sys.path = SearchPath(sys.path)
    atexit.register(_record)
'''

# script -> the envs its jobs ran in (extract_features serves every modality, each in its registry's env)
EXPECTED_ENVS = {"read_corpus": {"train"}, "extract_features": {"audio", "visual", "text"},
                 "assemble_store": {"train"}, "train": {"train"}, "aggregate_seeds": {"train"},
                 "report": {"train"}}


def _host_view(folder: Path, modules: set[str]) -> Path:
    """A folder of links to the host venv's copies of ``modules`` (what a job needs to unpickle Snakemake)."""
    folder.mkdir()
    site = Path(next(p for p in sys.path if p.startswith(str(HOST)) and p.endswith("site-packages")))
    for entry in site.iterdir():
        if entry.name.split(".")[0] in modules and not entry.name.endswith((".pth", ".dist-info")):
            (folder / entry.name).symlink_to(entry)
    return folder


def _snakemake_modules() -> set[str]:
    """Top-level modules of Snakemake and its requirements: the scripts load these from the host by design."""
    names, todo = set(), ["snakemake"]
    while todo:
        name = todo.pop()
        if name in names:
            continue
        names.add(name)
        for line in distribution(name).requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name.lower().replace("_", "-"))
    owners = packages_distributions()
    return {m for m, dists in owners.items() if {d.lower().replace("_", "-") for d in dists} & names}


@pytest.mark.slow
@pytest.mark.deploy
def test_reduced_demo_with_use_conda_runs_each_rule_in_its_env(tmp_path):
    workdir = reduced_demo(tmp_path / "run")
    envs, audit, hook = tmp_path / "envs", tmp_path / "audit", tmp_path / "hook"
    audit.mkdir()
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(AUDIT_HOOK)
    env = {**os.environ, "PATH": f"{STAND_IN}:{os.environ['PATH']}", "PYTHONPATH": str(hook),
           "MULTIEMO_IMPORT_AUDIT": str(audit), "MULTIEMO_AUDIT_HOST": str(HOST),
           "MULTIEMO_AUDIT_HOST_VIEW": str(_host_view(tmp_path / "host_view", _snakemake_modules())),
           "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "-d", str(workdir),
           "--cores", "2", "--use-conda", "--conda-prefix", str(envs),
           "--conda-not-block-search-path-envvars"]  # lets PYTHONPATH carry the hook into the jobs
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3000, check=False)
        assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        assert (workdir / "results" / "mini" / "report" / "summary.json").exists()

        created = {p.with_suffix(""): yaml.safe_load(p.read_text())["name"].removeprefix("multiemo-")
                   for p in envs.glob("*.yaml")}
        for prefix, name in created.items():  # each env has this checkout's multiemo itself
            where = subprocess.run([str(prefix / "bin" / "python"), "-I", "-c",
                                    "import multiemo, sys; print(multiemo.__file__)"],
                                   capture_output=True, text=True, check=True).stdout.strip()
            assert where == str(REPO / "multiemo" / "__init__.py"), (name, where)

        used: dict[str, set[str]] = {}
        by_design = _snakemake_modules()
        records = [json.loads(p.read_text()) for p in audit.glob("*.json")]
        leaks = []
        for record in records:
            script = Path(record["script"]).name.split(".")[-2]  # .snakemake/scripts/tmpXXXX.NAME.py
            env_name = created.get(Path(record["prefix"]))
            assert env_name, f"{script} ran outside the conda envs, in {record['prefix']}"
            used.setdefault(script, set()).add(env_name)
            leaked = {m: f for m, f in record["modules"].items()
                      if f and Path(f).is_relative_to(HOST) and m not in by_design}
            leaks += [f"{script} in env {env_name}: {m} from {f}" for m, f in sorted(leaked.items())]
        assert not leaks, "jobs imported from the host venv, not their env:\n" + "\n".join(leaks)
        assert used == EXPECTED_ENVS
    finally:
        shutil.rmtree(envs, ignore_errors=True)  # ~5 GB per env with torch
