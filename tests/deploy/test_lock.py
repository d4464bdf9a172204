"""The lock is what gets installed: every package pinned and hashed, wheels only (pure-Python exceptions
named), the venv equal to it, a supported interpreter or one clear message; and (make test-deploy) a fresh
venv built from it through the Makefile takes the locked versions even when a newer release is on offer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import distribution, distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.tags import sys_tags
from packaging.utils import parse_wheel_filename

from tests.conftest import REPO
from tests.deploy.lockfile import (
    BUILD_LOCK,
    LOCK,
    OVERRIDES_FILE,
    SOURCE_ONLY_FILE,
    entries,
    listed,
    needs,
    normalise,
    pins,
)

VENV = Path(sys.prefix)
MADE_BY_MAKE = (VENV / "lock.txt").is_file()  # the Makefile copies the lock it installed there


def _made_by_make():
    if not MADE_BY_MAKE:
        pytest.skip(f"{VENV} was not built by `make install` from the lock (no {VENV / 'lock.txt'})")


def test_every_locked_package_is_pinned_and_hashed():
    for path in (LOCK, BUILD_LOCK):
        for name, (version, hashes) in entries(path).items():
            assert hashes, f"{path.name}: {name}=={version} has no --hash"
    assert pins(BUILD_LOCK).items() <= pins(LOCK).items(), "build.txt must hold the lock's versions"


def test_the_lock_satisfies_pyproject():
    """Everything multiemo[dev] needs is in the lock at a version its requirement allows (pyproject.toml
    edited without `make lock` fails here, with no registry asked)."""
    locked = pins()
    dropped = listed(OVERRIDES_FILE)
    for line in distribution("multiemo").requires:
        req = Requirement(line)
        name = normalise(req.name)
        if name == "multiemo" or name in dropped:
            continue
        assert name in locked, f"pyproject.toml requires {req}, which the lock lacks: run make lock"
        assert req.specifier.contains(locked[name], prereleases=True), \
            f"pyproject.toml requires {req}; the lock has {locked[name]}: run make lock"
    assert needs({"dev"}) <= set(locked)


def test_the_venv_is_the_lock():
    _made_by_make()
    installed = {normalise(d.metadata["Name"]): d.version for d in distributions()}
    installed.pop("multiemo")
    assert installed == pins(), "the venv differs from the lock: `make install` rebuilds it"


def _installed_from(report: Path) -> dict[str, str]:
    return {normalise(item["metadata"]["name"]): item["download_info"]["url"]
            for item in json.loads(report.read_text())["install"]}


def test_every_locked_package_was_installed_from_a_wheel_for_this_platform():
    """pip's own record of the install: a .whl this interpreter accepts, or one of the named pure-Python
    sdists, which must have built into a py3-none-any wheel (no compiler ran)."""
    _made_by_make()
    sources = {**_installed_from(VENV / "install-report-build.json"),
               **_installed_from(VENV / "install-report.json")}
    assert set(sources) == set(pins()), "pip's report and the lock disagree"
    here = set(sys_tags())
    allowed = listed(SOURCE_ONLY_FILE)
    for name, url in sorted(sources.items()):
        filename = url.rsplit("/", 1)[-1]
        if filename.endswith(".whl"):
            tags = parse_wheel_filename(filename)[3]
            assert tags & here, f"{name}: {filename} does not fit this platform"
            continue
        assert name in allowed, f"{name} was built from source ({filename}): lock a release with a wheel"
        wheel = distribution(name).read_text("WHEEL")
        assert "Root-Is-Purelib: true" in wheel and "Tag: py3-none-any" in wheel, (name, wheel)


def test_pip_check_reports_only_the_overridden_requirements():
    _made_by_make()
    proc = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False)
    problems = {line for line in proc.stdout.splitlines() if line.strip()}
    expected = {f"resemblyzer 0.1.4 requires {name}, which is not installed."
                for name in listed(OVERRIDES_FILE)}
    assert problems == expected, proc.stdout


def _other_python() -> str:
    """An installed interpreter other than 3.11: on PATH, or one of pyenv's (whose shims run only the
    selected version)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for minor in ("3.12", "3.10", "3.13"):
        for exe in [shutil.which(f"python{minor}"), *sorted(pyenv.glob(f"{minor}*/bin/python{minor}"))]:
            if exe and subprocess.run([exe, "-c", "pass"], capture_output=True, check=False).returncode == 0:
                return str(exe)
    pytest.skip("no Python other than 3.11 installed to check the Makefile's refusal with")


def test_make_refuses_an_unsupported_python_with_one_message(tmp_path):
    other = _other_python()
    proc = subprocess.run(["make", "-s", "-C", str(REPO), "install", f"PYTHON={other}",
                           f"VENV={tmp_path / 'venv'}"], capture_output=True, text=True, check=False)
    assert proc.returncode != 0
    assert "multiemo supports Python 3.11 only" in proc.stderr and "run make PYTHON=python3.11" in proc.stderr
    assert not (tmp_path / "venv").exists()
    ok = subprocess.run(["make", "-s", "-C", str(REPO), "python-version", f"PYTHON={sys.executable}"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr


def _fake_wheel(folder: Path, name: str, version: str) -> Path:
    """A valid, empty wheel: a release of ``name`` newer than the lock's, as a registry may serve tomorrow."""
    dist_info = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        whl.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                            "Tag: py3-none-any\n")
        whl.writestr(f"{dist_info}/RECORD", "".join(f"{dist_info}/{f},,\n"
                                                    for f in ("METADATA", "WHEEL", "RECORD")))
    return path


@pytest.mark.slow
@pytest.mark.deploy
def test_a_fresh_venv_from_the_lock_is_the_lock_even_with_newer_releases_on_offer(tmp_path):
    """`make install` with the lock cut to what the core install needs, from a wheel folder filled first
    (pip's cache), offline: pip freeze equals the cut lock, pip check is clean, and a newer tqdm in the same
    folder, which an unlocked `pip install` takes, is not installed."""
    core = needs(set()) | set(pins(BUILD_LOCK))
    lines, keep = [], False
    for line in LOCK.read_text().splitlines():  # the lock's own entries, hashes and all, of the core packages
        if not line.startswith((" ", "#")):
            keep = normalise(line.split("==")[0]) in core
        if keep:
            lines.append(line)
    cut = tmp_path / "core-lock.txt"
    cut.write_text("\n".join(lines) + "\n")
    assert set(pins(cut)) == core

    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "--require-hashes", "-d", str(wheels), "-r", str(cut)], check=True)
    locked_tqdm = pins(cut)["tqdm"]
    _fake_wheel(wheels, "tqdm", "99.0.0")
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheels)}
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d",
                    str(tmp_path / "unlocked"), "tqdm"], env=offline, check=True)
    assert [p.name for p in (tmp_path / "unlocked").iterdir()] == ["tqdm-99.0.0-py3-none-any.whl"], \
        "the fake release must be what an unlocked install takes"

    venv = tmp_path / "venv"
    make = subprocess.run(["make", "-C", str(REPO), "install", f"VENV={venv}", f"LOCK={cut}",
                           f"PYTHON={sys.executable}"], env=offline, capture_output=True, text=True,
                          check=False)
    assert make.returncode == 0, make.stdout[-3000:] + make.stderr[-3000:]
    python = str(venv / "bin" / "python")
    freeze = subprocess.run([python, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                            capture_output=True, text=True, check=True).stdout
    frozen = {normalise(name): version for name, version in (line.split("==") for line in freeze.split())}
    assert frozen == pins(cut)
    assert frozen["tqdm"] == locked_tqdm
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
    where = subprocess.run([python, "-c", "import multiemo, pandas; print(multiemo.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(REPO / "multiemo" / "__init__.py")
