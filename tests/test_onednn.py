"""Bounds on oneDNN's kernel caches (multiemo._onednn), set when multiemo is imported."""

import os
import subprocess
import sys

from multiemo._onednn import CACHE_CAPACITY, bound_kernel_caches

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


def test_importing_multiemo_sets_them_before_torch_is_loaded():
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    code = (
        "import os, sys, multiemo; "
        "print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'], os.environ['LRU_CACHE_CAPACITY'], "
        "'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(CACHE_CAPACITY), str(CACHE_CAPACITY), "False"]
