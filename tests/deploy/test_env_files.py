"""The per-rule conda env files: generated from the lock, every package they install pinned to its version."""

from __future__ import annotations

import importlib.util
import re

import pytest
import yaml

from tests.conftest import REPO
from tests.deploy.lockfile import needs, pins

ENVS = sorted((REPO / "envs").glob("*.yaml"))
SOURCE_LINE = re.compile(r"^-e \$\{MULTIEMO_SOURCE\}\[(?P<extras>[a-z,]+)\]$")


def _relock():
    """envs/relock.py, the script `make lock` runs (loaded from its file: envs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("relock", REPO / "envs" / "relock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path):
    env = yaml.safe_load(path.read_text())
    conda = [str(d) for d in env["dependencies"] if not isinstance(d, dict)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return conda, pip


def _extras(pip: list[str], path) -> set[str]:
    source = [SOURCE_LINE.match(line) for line in pip if line.startswith("-e ")]
    # Snakemake runs `conda env create` on a copy in .snakemake/conda/: a relative path would point there.
    assert len(source) == 1 and source[0], f"{path.name}: install multiemo as -e ${{MULTIEMO_SOURCE}}[extras]"
    return set(source[0]["extras"].split(","))


def test_there_is_one_env_per_tool_family():
    assert [p.stem for p in ENVS] == ["audio", "predict", "text", "train", "visual"]


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_every_pin_is_the_locks_version(path):
    locked = pins()
    conda, pip = _read(path)
    assert "python=3.11" in conda
    assert f"pip={locked['pip']}" in conda, f"{path.name}: conda's pip must be the lock's ({locked['pip']})"
    for line in pip:
        if line.startswith("-e "):
            continue
        name, _, version = line.partition("==")
        assert version, f"{path.name}: {line!r} is not an exact pin"
        assert locked.get(name) == version, f"{path.name} pins {line}; the lock has {locked.get(name)}"


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_the_env_pins_everything_its_extras_install_and_nothing_else(path):
    """Transitive requirements included: pip in a conda env resolves nothing the lock has not fixed."""
    _, pip = _read(path)
    pinned = {line.partition("==")[0] for line in pip if "==" in line}
    wanted = needs(_extras(pip, path)) - {"pip"}
    assert pinned == wanted, (f"{path.name}: unpinned {sorted(wanted - pinned)}, "
                              f"pinned but not needed {sorted(pinned - wanted)}: run make lock")


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_the_env_file_is_what_make_lock_writes(path):
    relock = _relock()
    _, pip = _read(path)
    lines = [line for line in pip if "==" in line]
    assert path.read_text() == relock.render_env(path.stem, pins()["pip"], lines)


def test_resemblyzers_source_only_vad_comes_from_conda_in_the_predict_env():
    """The lock drops Resemblyzer's webrtcvad (source only on PyPI); under conda the predict env gets
    conda-forge's binary build, so pip finds the requirement met and compiles nothing."""
    conda, pip = _read(REPO / "envs" / "predict.yaml")
    assert "resemblyzer==0.1.4" in pip and "webrtcvad=2.0.10" in conda


def test_every_rule_with_a_script_names_an_env_and_every_env_is_used():
    # the feature rules take their env from the table in rules/resources.smk
    used = set(re.findall(r'"env": "(\w+)"', (REPO / "workflow" / "rules" / "resources.smk").read_text()))
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        text = path.read_text()
        assert text.count("script:") == text.count("conda:"), \
            f"{path.name}: a rule runs a script without an env"
        used |= set(re.findall(r'"\.\./\.\./envs/(\w+)\.yaml"', text))
    assert used == {p.stem for p in ENVS}
