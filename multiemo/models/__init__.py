"""The MultiEMO model: per-modality projection, DialogueRNN context encoders, MultiAttn fusion, classifier.

The modules load on first use (PEP 562), so reading settings (``multiemo.models.config``, which the
Snakefile does when it loads) does not import torch.
"""

from importlib import import_module

from multiemo.models.config import ModelConfig

_LAZY = {
    "DialogueRNN": "multiemo.models.dialogue_rnn",
    "MultiAttn": "multiemo.models.multiattn",
    "MultiEMO": "multiemo.models.multiemo",
    "MultiEMOOutput": "multiemo.models.multiemo",
}

__all__ = ["DialogueRNN", "ModelConfig", "MultiAttn", "MultiEMO", "MultiEMOOutput"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'multiemo.models' has no attribute {name!r}")
