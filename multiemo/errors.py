"""The errors a user can cause and fix, as multiemo's own types.

The command line (:mod:`multiemo.cli`) prints one of these as one line and exits 1; anything else that
escapes a command is a bug in multiemo (exit 3, with the traceback). So an error a user can fix — a bad file,
setting, path or argument, a busy directory, a machine short of memory — is raised as one of these types, with
a message naming the file or the setting and what to do; a plain ``ValueError`` is never taken for one.
"""

from __future__ import annotations


class MultiemoError(Exception):
    """An error the user can fix; its message names the file or the setting and what to do."""


class InputError(MultiemoError, ValueError):
    """A file, setting or argument holds something multiemo cannot use (also a ``ValueError``, so code that
    validated with ``ValueError`` keeps working)."""


class ResourceError(MultiemoError):
    """The machine lacks what a command asks of it (GPU or host memory): the message says what to lower."""


def gib(size: float) -> str:
    """A byte count in GiB for messages, e.g. ``8192 GiB``; ``0.01`` below one GiB keeps two decimals."""
    value = size / 2**30
    return f"{value:.0f} GiB" if value >= 10 else f"{value:.2f} GiB"
