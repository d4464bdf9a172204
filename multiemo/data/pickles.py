"""Read a feature pickle without running code from it.

The field's feature files (DialogueRNN, DialogueGCN, MMGCN, COSMIC, the MultiEMO release) are pickles of
plain containers holding numpy arrays. :func:`load_pickle` rebuilds exactly that: dict, list, tuple, set,
str, bytes, int, float, bool, None (built by pickle opcodes, no lookup needed) and numpy arrays, dtypes and
scalars. Any other global a pickle names — ``os.system``, ``builtins.eval``, a pandas or torch class — is
refused before anything is called, with one message naming the file and the global.
"""

from __future__ import annotations

import codecs
import os
import pickle
from pathlib import Path

import numpy as np


class UnsafePickleError(ValueError):
    """A pickle names something outside the allowed plain structure; nothing from it was run."""


def _bytes_from_latin1(text: str, encoding: str = "latin1") -> bytes:
    """Python 3 writes ``bytes`` at protocol 2 as ``_codecs.encode(text, 'latin1')``; only that form is allowed."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode is allowed for latin1 text only, got {encoding!r}")
    return codecs.encode(text, "latin1")


_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array rebuilder, whatever module it lives in
_SCALAR = np.float64(0).__reduce__()[0]  # numpy's scalar rebuilder
#: (module, name) → object. numpy moved ``core`` to ``_core`` in 2.0; pickles name either. Python 2 pickles
#: name ``__builtin__``, read as ``builtins``.
ALLOWED: dict[tuple[str, str], object] = {
    **{(module, "_reconstruct"): _RECONSTRUCT for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(module, "scalar"): _SCALAR for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _bytes_from_latin1,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        module = "builtins" if module == "__builtin__" else module  # what fix_imports does for Python 2 pickles
        try:
            return ALLOWED[(module, name)]
        except KeyError:
            raise UnsafePickleError(f"{module}.{name}") from None


def load_pickle(path: str | os.PathLike, *, hint: str = "") -> object:
    """The object pickled in ``path``, rebuilt from the allowed plain structure only.

    Python 2 pickles (the 2018-2020 releases) are read with ``encoding="latin1"``, as their loaders do.

    Raises:
        FileNotFoundError: ``path`` does not exist (``hint`` says what it should hold).
        UnsafePickleError: the pickle names a global outside :data:`ALLOWED`; nothing of it was called.
        ValueError: not a readable pickle.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist" + (f"; {hint}" if hint else ""))
    try:
        with open(path, "rb") as handle:
            return _RestrictedUnpickler(handle, encoding="latin1").load()
    except UnsafePickleError as err:
        raise UnsafePickleError(
            f"{path}: refused to load: the pickle asks for {err}, which is not part of a feature file "
            "(allowed: dict, list, tuple, set, str, numbers and numpy arrays); nothing from it was run"
        ) from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError,
            ValueError, KeyError) as err:
        raise ValueError(f"{path} is not a readable pickle: {err}") from None
