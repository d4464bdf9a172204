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
from typing import BinaryIO

import numpy as np

from multiemo.errors import InputError, gib


class UnsafePickleError(InputError):
    """A pickle names something outside the allowed plain structure; nothing from it was run."""


def _bytes_from_latin1(text: str, encoding: str = "latin1") -> bytes:
    """Python 3 writes ``bytes`` at protocol 2 as ``_codecs.encode(text, 'latin1')``; only that form is
    allowed."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError(f"_codecs.encode is allowed for latin1 text only, got {encoding!r}")
    return codecs.encode(text, "latin1")


_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array rebuilder, whatever module it lives in
_SCALAR = np.float64(0).__reduce__()[0]  # numpy's scalar rebuilder
#: (module, name) → object. numpy moved ``core`` to ``_core`` in 2.0; pickles name either. Python 2 pickles
#: name ``__builtin__``, read as ``builtins``.
ALLOWED: dict[tuple[str, str], object] = {
    **{(module, "_reconstruct"): _RECONSTRUCT for module in ("numpy.core.multiarray",
                                                             "numpy._core.multiarray")},
    **{(module, "scalar"): _SCALAR for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _bytes_from_latin1,
}


class _RestrictedUnpickler(pickle._Unpickler):  # the Python one: it reads a counted item before making it
    def find_class(self, module: str, name: str):
        # what fix_imports does for Python 2 pickles
        module = "builtins" if module == "__builtin__" else module
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
            return _RestrictedUnpickler(_BoundedFile(handle, path.stat().st_size), encoding="latin1").load()
    except _AsksTooMuch as err:
        raise InputError(f"{path} asks for {gib(err.size)} in one piece but holds only {gib(err.held)}: it "
                         "is truncated or crafted, not a feature file; nothing from it was run") from None
    except MemoryError as err:  # numpy asked for an array larger than this machine has
        size = _requested(err)
        raise InputError(f"{path} asks for {gib(size) if size else 'more memory than this machine has'}"
                         f"{' for one array' if size else ''}, more than this machine can give: it is "
                         "corrupt or crafted, or needs a larger machine; nothing from it was run") from None
    except UnsafePickleError as err:
        raise UnsafePickleError(
            f"{path}: refused to load: the pickle asks for {err}, which is not part of a feature file "
            "(allowed: dict, list, tuple, set, str, numbers and numpy arrays); nothing from it was run"
        ) from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError,
            ValueError, KeyError) as err:
        raise InputError(f"{path} is not a readable pickle: {err}") from None


class _AsksTooMuch(Exception):
    def __init__(self, size: int, held: int) -> None:
        super().__init__(size, held)
        self.size, self.held = size, held


class _BoundedFile:
    """A binary file that refuses a read longer than the file: a pickle opcode that claims 2**40 bytes
    would otherwise make Python allocate them before finding the file is 16 bytes long. (The C unpickler
    allocates before it reads, hence the Python one, whose reads of a large pickle are few and long.)"""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle, self.size = handle, size

    def read(self, n: int = -1) -> bytes:
        if n > self.size:
            raise _AsksTooMuch(n, self.size)
        return self.handle.read(n)

    def readinto(self, buffer) -> int:
        if len(buffer) > self.size:
            raise _AsksTooMuch(len(buffer), self.size)
        return self.handle.readinto(buffer)

    def readline(self) -> bytes:
        return self.handle.readline()


def _requested(err: MemoryError) -> int | None:
    """Bytes numpy failed to allocate (its MemoryError records shape and dtype), or None."""
    shape, dtype = getattr(err, "shape", None), getattr(err, "dtype", None)
    if shape is None or dtype is None:
        return None
    return int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
