"""Training a run: the epochs (``loop.py``), the optimiser step (``passes.py``), the objective, resuming, and
the entry point :func:`train_run` (``run.py``), which trains one seed and evaluates its selected checkpoint.

The entry points load on first use (PEP 562), so reading settings (``multiemo.training.config``, which the
Snakefile does when it loads) does not import torch.
"""

from importlib import import_module

_LAZY = {"train_run": "multiemo.training.run", "train_seeds": "multiemo.training.run"}

__all__ = ["train_run", "train_seeds"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'multiemo.training' has no attribute {name!r}")
