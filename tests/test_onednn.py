"""Bounds on oneDNN's kernel caches (multiemo._onednn): set by the entry points, never by importing
multiemo."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from multiemo._onednn import CACHE_CAPACITY, bound_kernel_caches

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
VARIABLES = ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "DNNL_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY")


def test_sets_both_capacities_when_unset():
    environ = {}
    bound_kernel_caches(environ)
    assert environ == {
        "ONEDNN_PRIMITIVE_CACHE_CAPACITY": str(CACHE_CAPACITY),
        "LRU_CACHE_CAPACITY": str(CACHE_CAPACITY),
    }


def test_leaves_the_users_values_alone():
    environ = {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "LRU_CACHE_CAPACITY": "7"}
    bound_kernel_caches(environ)
    assert environ == {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024", "LRU_CACHE_CAPACITY": "7"}


def test_the_older_dnnl_spelling_counts_as_set():
    # oneDNN prefers ONEDNN_ over DNNL_, so setting ours would override the user's.
    environ = {"DNNL_PRIMITIVE_CACHE_CAPACITY": "8"}
    bound_kernel_caches(environ)
    assert "ONEDNN_PRIMITIVE_CACHE_CAPACITY" not in environ
    assert environ["DNNL_PRIMITIVE_CACHE_CAPACITY"] == "8"


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout


def test_importing_multiemo_leaves_the_environment_alone():
    code = (
        "import os; before = dict(os.environ); "
        "import multiemo, multiemo.models, multiemo.cli; print(dict(os.environ) == before)"
    )
    assert _run(code).split() == ["True"]


def test_the_command_line_entry_sets_them():
    code = (
        "import os, contextlib, io\n"
        "from multiemo.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'], os.environ['LRU_CACHE_CAPACITY'])"
    )
    assert _run(code).split() == [str(CACHE_CAPACITY), str(CACHE_CAPACITY)]


@pytest.mark.parametrize("script", ["train.py", "predict.py", "extract_features.py", "finetune_text.py"])
def test_workflow_scripts_that_run_models_set_them(script):
    tree = ast.parse((SCRIPTS / script).read_text())
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert any(getattr(f, "id", getattr(f, "attr", None)) == "bound_kernel_caches" for f in calls)
