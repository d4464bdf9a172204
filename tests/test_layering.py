"""Floors follow the data: every module of multiemo/ imports only from its own floor or the floors below.

corpora -> features -> store -> model -> runs -> evaluation -> training -> predict -> report -> entry points,
on a ground floor of shared vocabulary. A module not in the table fails the test: place it on a floor.

A run directory's format (``runs``) is written by training and read by evaluation, prediction, export and
the report, none of which imports training. Training sits above evaluation because it ends by evaluating
its selected checkpoint once.
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
    # the data flow
    "multiemo.corpora": 1,
    "multiemo.features": 2,
    "multiemo.data": 3,  # the feature store
    "multiemo.pipeline": 3,  # corpus -> features -> store
    "multiemo.models": 4,
    "multiemo.losses": 4,
    "multiemo.runs": 5,  # a run directory: identity, settings, checkpoints, provenance, calibration, history
    "multiemo.evaluation": 6,  # scores a run directory through multiemo.runs alone
    "multiemo.training": 7,  # writes runs; its entry point evaluates the selected checkpoint once
    "multiemo.predict": 8,
    "multiemo.report": 9,
    # entry points
    "multiemo.cli": 10,
}

# Readers of a run directory: they load runs through multiemo.runs and import nothing from training.
RUN_READERS = ("multiemo.evaluation", "multiemo.predict", "multiemo.report")


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


def is_reader(module: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in RUN_READERS)


def test_readers_of_a_run_import_nothing_from_training():
    # export is multiemo.predict.export; lazy imports inside functions count as much as the top ones
    readers = [p for p in MODULES if is_reader(module_name(p))]
    assert any(module_name(p) == "multiemo.predict.export" for p in readers), "export moved: add it to RUN_READERS"
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}"
        for path in readers
        for line, target in imports_of(path)
        if target == "multiemo.training" or target.startswith("multiemo.training.")
    ]
    assert not found, "readers of a run directory must load it through multiemo.runs: " + "; ".join(found)


def test_the_reader_check_catches_a_lazy_training_import():
    source = "import torch\ndef f():\n    from multiemo.training.checkpoint import load_run_model\n"
    assert imports_in(source, "multiemo.predict") == [(3, "multiemo.training.checkpoint")]


def test_prediction_and_reports_load_runs_without_training():
    code = (
        "import sys, multiemo.predict, multiemo.predict.robustness, multiemo.report, multiemo.evaluation.evaluate\n"
        "import multiemo.evaluation.summary\n"
        "print(sorted(m for m in sys.modules if m.startswith('multiemo.training')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
