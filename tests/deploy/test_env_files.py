"""The per-rule conda env files: pins equal to the versions this test venv runs, complete, installable from a copy."""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, requires, version

import pytest
import yaml
from packaging.requirements import Requirement

from tests.conftest import REPO

ENVS = sorted((REPO / "envs").glob("*.yaml"))
SOURCE_LINE = re.compile(r"^-e \$\{MULTIEMO_SOURCE\}\[(?P<extras>[a-z,]+)\]$")


def _read(path):
    env = yaml.safe_load(path.read_text())
    conda = [str(d) for d in env["dependencies"] if not isinstance(d, dict)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    return conda, pip


def _requirements_of(extras: set[str]) -> set[str]:
    """Distribution names multiemo needs with these extras (core + each extra's direct requirements)."""
    names = set()
    for line in requires("multiemo"):
        req = Requirement(line)
        if req.name == "multiemo":
            continue
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras):
            names.add(req.name.lower())
    return names


def test_there_is_one_env_per_tool_family():
    assert [p.stem for p in ENVS] == ["audio", "predict", "text", "train", "visual"]


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_pins_are_the_versions_the_tests_run_with(path):
    conda, pip = _read(path)
    assert f"python={sys.version_info.major}.{sys.version_info.minor}" in conda
    assert f"pip={version('pip')}" in conda
    pins = [line for line in pip if not line.startswith("-e ")]
    assert pins, path
    for line in pins:
        name, _, pinned = line.partition("==")
        assert pinned, f"{path.name}: {line!r} is not an exact pin"
        try:
            installed = version(name)
        except PackageNotFoundError:
            pytest.fail(f"{path.name} pins {line!r}, which the test venv does not have")
        assert pinned == installed, f"{path.name} pins {name}=={pinned}; the tests run {installed}"


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.name)
def test_the_env_installs_this_checkout_with_every_requirement_pinned(path):
    _, pip = _read(path)
    source = [SOURCE_LINE.match(line) for line in pip if line.startswith("-e ")]
    # Snakemake runs `conda env create` on a copy in .snakemake/conda/: a relative path would point there.
    assert len(source) == 1 and source[0], f"{path.name}: install multiemo as -e ${{MULTIEMO_SOURCE}}[extras]"
    extras = set(source[0]["extras"].split(","))
    pinned = {line.partition("==")[0].lower() for line in pip if "==" in line}
    missing = _requirements_of(extras) - pinned
    assert not missing, f"{path.name} installs multiemo[{','.join(sorted(extras))}] but does not pin {missing}"


def test_every_rule_with_a_script_names_an_env_and_every_env_is_used():
    from multiemo.features.registry import extractor, modalities

    used = {extractor(m).env for m in modalities()}  # the feature rules take their env from the registry
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        text = path.read_text()
        assert text.count("script:") == text.count("conda:"), f"{path.name}: a rule runs a script without an env"
        used |= set(re.findall(r'"\.\./\.\./envs/(\w+)\.yaml"', text))
    assert used == {p.stem for p in ENVS}
