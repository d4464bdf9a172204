"""Floors follow the data: every module of multiemo/ imports only from its own floor or the floors below.

corpora -> features -> store -> model -> training -> evaluation -> predict -> report -> entry points, on a
ground floor of shared vocabulary. A module not in the table fails the test: place it on a floor.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "multiemo"

# Longest matching prefix wins. Floor numbers only order the floors.
FLOORS = {
    # ground floor: vocabulary every stage shares
    "multiemo": 0,  # the package itself (multiemo/__init__.py)
    "multiemo._onednn": 0,
    "multiemo.errors": 0,  # the errors a user can fix (the command line exits 1 on them)
    "multiemo.io": 0,
    "multiemo.logutil": 0,
    "multiemo.settings": 0,
    "multiemo.outcomes": 0,
    "multiemo.keys": 0,
    "multiemo.metrics": 0,
    "multiemo.provenance": 0,  # versions, git commit, hub revisions (runs and exports record them)
    "multiemo.registry": 0,  # the one registry shape of extractors, readers and losses
    # the data flow
    "multiemo.corpora": 1,
    "multiemo.features": 2,
    "multiemo.data": 3,  # the feature store
    "multiemo.pipeline": 3,  # corpus -> features -> store
    "multiemo.models": 4,
    "multiemo.losses": 4,
    "multiemo.training": 5,
    "multiemo.schema": 5,  # the config schema opened by the registries of the floors below
    "multiemo.evaluation": 6,
    "multiemo.predict": 7,
    "multiemo.report": 8,
    # entry points
    "multiemo.cli": 9,
}


def floor_of(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in FLOORS:
            return FLOORS[prefix]
    raise KeyError(module)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every multiemo import in ``path``, relative ones resolved; lazy imports included."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> list[tuple[int, str]]:
    """(line, module) of every multiemo import in ``source``, a module of ``package``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from multiemo.x import y` may name a submodule y: judge it by the deeper name when it is one
            for alias in node.names:
                deeper = f"{target}.{alias.name}"
                sub = PACKAGE.parent / Path(*deeper.split("."))
                found.append((node.lineno, deeper if sub.with_suffix(".py").exists() or sub.is_dir() else target))
    return [(line, m) for line, m in found if m == "multiemo" or m.startswith("multiemo.")]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_floor():
    unplaced = [module_name(p) for p in MODULES if not _placed(module_name(p))]
    assert not unplaced, f"put these modules on a floor in FLOORS: {unplaced}"


def _placed(module: str) -> bool:
    try:
        floor_of(module)
    except KeyError:
        return False
    return True


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_imports_go_to_the_same_floor_or_below(path):
    name = module_name(path)
    own = floor_of(name)
    upward = [
        f"line {line}: {target} (floor {floor_of(target)})"
        for line, target in imports_of(path)
        if floor_of(target) > own
    ]
    assert not upward, f"{name} (floor {own}) imports from above: {upward}"


def test_the_layering_check_catches_an_upward_import():
    # the check itself: a corpora module importing the training loop is caught, relative imports resolved
    source = "def f():\n    from multiemo.training import loop\nfrom ..features import base\nfrom . import table\n"
    found = {m: line for line, m in imports_in(source, "multiemo.corpora")}
    assert found == {"multiemo.training.loop": 2, "multiemo.features.base": 3, "multiemo.corpora.table": 4}
    assert sorted(m for m in found if floor_of(m) > floor_of("multiemo.corpora")) == [
        "multiemo.features.base", "multiemo.training.loop"]


def test_prediction_and_reports_load_runs_without_the_training_loop():
    code = (
        "import sys, multiemo.predict, multiemo.predict.robustness, multiemo.report, multiemo.evaluation.evaluate\n"
        "print(sorted(m for m in sys.modules if m in ('multiemo.training.loop', 'multiemo.evaluation.runs')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
