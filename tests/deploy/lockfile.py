"""Reading envs/lock/ for the tests: pins, hashes, and what an install of some extras needs (from the metadata
of the running venv, which is the lock itself: tests/deploy/test_lock.py holds it to that)."""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

from packaging.requirements import Requirement

from tests.conftest import REPO

LOCKS = REPO / "envs" / "lock"
LOCK = LOCKS / "linux-x86_64-py311.txt"
BUILD_LOCK = LOCKS / "build.txt"
SOURCE_ONLY_FILE = LOCKS / "source-only.txt"
OVERRIDES_FILE = LOCKS / "overrides.txt"
_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def entries(path: Path = LOCK) -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [sha256 hashes])}`` of a hashed requirements file written by uv."""
    found: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in path.read_text().splitlines():
        match = _ENTRY.match(line)
        if match:
            name = normalise(match[1])
            found[name] = (match[2].rstrip(" \\"), [])
        elif name and "--hash=sha256:" in line:
            found[name][1].append(line.split("--hash=sha256:")[1].rstrip(" \\"))
        elif not line.startswith(" "):
            name = None
    return found


def pins(path: Path = LOCK) -> dict[str, str]:
    return {name: version for name, (version, _) in entries(path).items()}


def listed(path: Path) -> set[str]:
    """Names listed one per line (comments and blanks skipped; anything after the name ignored)."""
    lines = (line.split(";")[0].strip() for line in path.read_text().splitlines())
    return {normalise(line) for line in lines if line and not line.startswith("#")}


def needs(extras: set[str]) -> set[str]:
    """Every distribution an install of ``multiemo[extras]`` brings in, transitively (multiemo excluded), as
    the installed metadata says, markers evaluated here; the overridden requirements are left out."""
    dropped = listed(OVERRIDES_FILE)
    found: set[str] = set()
    todo = [("multiemo", frozenset(extras))]
    seen = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        for line in distribution(name).requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (wanted | {""})):
                continue
            dep = normalise(req.name)
            if dep in dropped:
                continue
            if dep != "multiemo":
                found.add(dep)
            todo.append((dep, frozenset(req.extras)))
    return found
