"""Floors follow the data: every module of multiemo/ imports only from its own floor or the floors below.

corpora -> conversations -> features -> store -> model -> runs -> evaluation -> training -> predict ->
report -> entry points, on a ground floor of shared vocabulary. A module not in the table fails the
test: place it on a floor. No two modules import each other, even lazily, and no package holds more
than a fifth of the library.

A run directory's format (``runs``) is written by training and read by evaluation, prediction, export and
the report, none of which imports training. Training sits above evaluation because it ends by evaluating
its selected checkpoint once.
"""

import ast
import subprocess
import sys
from collections import Counter
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
    "multiemo.conversations": 2,  # a recording -> an utterance table, as a corpus reader gives one
    "multiemo.features": 3,
    "multiemo.data": 4,  # the feature store
    "multiemo.pipeline": 4,  # corpus -> features -> store
    "multiemo.models": 5,
    "multiemo.losses": 5,
    "multiemo.runs": 6,  # a run directory: identity, settings, checkpoints, provenance, calibration, history
    "multiemo.evaluation": 7,  # scores a run directory through multiemo.runs alone
    "multiemo.training": 8,  # writes runs; its entry point evaluates the selected checkpoint once
    "multiemo.schema": 8,  # the config schema opened by the registries of the floors below
    "multiemo.predict": 9,
    "multiemo.report": 10,
    # entry points
    "multiemo.cli": 11,
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
                is_module = sub.with_suffix(".py").exists() or sub.is_dir()
                found.append((node.lineno, deeper if is_module else target))
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
    source = ("def f():\n    from multiemo.training import loop\n"
              "from ..features import base\nfrom . import table\n")
    found = {m: line for line, m in imports_in(source, "multiemo.corpora")}
    assert found == {"multiemo.training.loop": 2, "multiemo.features.base": 3, "multiemo.corpora.table": 4}
    assert sorted(m for m in found if floor_of(m) > floor_of("multiemo.corpora")) == [
        "multiemo.features.base", "multiemo.training.loop"]


def is_reader(module: str) -> bool:
    return any(module == r or module.startswith(r + ".") for r in RUN_READERS)


def test_readers_of_a_run_import_nothing_from_training():
    # export is multiemo.predict.export; lazy imports inside functions count as much as the top ones
    readers = [p for p in MODULES if is_reader(module_name(p))]
    assert any(module_name(p) == "multiemo.predict.export" for p in readers), \
        "export moved: add it to RUN_READERS"
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
        "import sys, multiemo.predict, multiemo.report, multiemo.evaluation.evaluate\n"
        "import multiemo.evaluation.summary\n"
        "print(sorted(m for m in sys.modules if m.startswith('multiemo.training')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def import_graph() -> dict[str, set[str]]:
    """module -> the multiemo modules it imports (lazy imports included), from the same walk as above."""
    names = {module_name(p) for p in MODULES}
    return {module_name(p): {m for _, m in imports_of(p) if m in names} for p in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None: a depth-first walk that meets a module on its own path."""
    done: set[str] = set()
    for root in sorted(graph):
        if root in done:
            continue
        path, targets = [root], [iter(sorted(graph[root]))]
        while path:
            target = next(targets[-1], None)
            if target is None:  # every import of path[-1] explored
                done.add(path.pop())
                targets.pop()
            elif target in path:
                return path[path.index(target):] + [target]
            elif target not in done:
                path.append(target)
                targets.append(iter(sorted(graph[target])))
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import cycle: {' -> '.join(cycle)} (move what both need below both)"


def test_the_cycle_check_finds_a_lazy_cycle():
    graph = {"multiemo.a": {"multiemo.b"}, "multiemo.b": {"multiemo.c"}, "multiemo.c": {"multiemo.a"},
             "multiemo.d": {"multiemo.a"}}
    assert find_cycle(graph) == ["multiemo.a", "multiemo.b", "multiemo.c", "multiemo.a"]
    assert find_cycle({**graph, "multiemo.c": set()}) is None
    # a lazy import (inside a function) is an edge like any other
    lazy = {m for _, m in imports_in("def f():\n    from multiemo.predict import export\n",
                                     "multiemo.predict")}
    assert lazy == {"multiemo.predict.export"}


def lines_per_package() -> Counter:
    """Lines of .py files per top-level package (or module) of multiemo/; the package's own __init__ counts as
    ``multiemo``."""
    lines: Counter = Counter()
    for path in MODULES:
        top = module_name(path).split(".")[:2]
        lines[".".join(top)] += len(path.read_text(encoding="utf-8").splitlines())
    return lines


def test_no_package_holds_more_than_a_fifth_of_the_library():
    lines = lines_per_package()
    total = sum(lines.values())
    crowded = {name: f"{n / total:.0%} ({n} of {total} lines)" for name, n in lines.items() if n > total / 5}
    assert not crowded, f"a package doing several jobs is several floors: split {crowded}"
