"""`make lint` runs with the tests: ruff over the repository with the project's settings (pyproject.toml),
the line length of 110 enforced."""

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

RUFF = Path(sys.executable).with_name("ruff")  # the lock's ruff, installed with the dev extra


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    assert RUFF.exists(), f"{RUFF} is missing: make install puts the dev extra's ruff in the venv"
    return subprocess.run([str(RUFF), "check", "--no-cache", *args], cwd=REPO, input=stdin,
                          capture_output=True, text=True, timeout=300, check=False)


def test_the_repository_passes_the_lint():
    proc = ruff(".")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_the_lint_enforces_the_line_length():
    line = "x = " + repr("a" * 105) + "\n"  # 111 characters
    assert len(line.rstrip("\n")) == 111
    proc = ruff("--stdin-filename", "multiemo/example.py", "-", stdin=line)
    assert proc.returncode == 1 and "E501" in proc.stdout, proc.stdout
    shorter = line.replace("a", "", 1)
    assert ruff("--stdin-filename", "multiemo/example.py", "-", stdin=shorter).returncode == 0
