"""Atomic file writing (an interrupted run never leaves a half-written file that looks finished), output
folders that are never a user's folder (a command replaces only its own kind of output and never writes
where its inputs are), and directory locks (two processes never write one run directory at once)."""

from __future__ import annotations

import errno
import fcntl
import fnmatch
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from multiemo.errors import InputError, MultiemoError


class OutputRefused(InputError):
    """A command would replace or write into a folder that is not its own kind of output, or that holds
    one of its inputs; nothing was written or removed."""


@dataclass(frozen=True)
class OutputKind:
    """What a folder written by one command holds, so that only such a folder is ever replaced.

    Attributes:
        name: how messages call it ("feature store").
        marker: the file every such folder holds (None: the folder is recognised by its entries alone).
        entries: name patterns (``fnmatch``) of everything such a folder may hold; a folder with any
            other entry holds something the command did not write, and is refused.
    """

    name: str
    marker: str | None
    entries: tuple[str, ...] = ("*",)

    def owns(self, directory: Path) -> bool:
        """Whether ``directory`` (an existing folder) is empty or one of this kind's folders."""
        names = [entry.name for entry in os.scandir(directory)]
        if not names:
            return True
        if self.marker is not None and self.marker not in names:
            return False
        return all(any(fnmatch.fnmatchcase(n, p) for p in self.entries) for n in names)


def check_output_dir(path: str | os.PathLike, kind: OutputKind,
                     inputs: Sequence[str | os.PathLike | None] = ()) -> Path:
    """Refuse ``path`` as a command's output folder unless it is new, empty or of ``kind``, and unless it
    holds none of ``inputs`` (files or folders the command reads; None entries are skipped).

    Raises:
        OutputRefused: naming the folder and what to do.
    """
    path = Path(path)
    folder = Path(os.path.abspath(path))
    for item in inputs:
        if item is None:
            continue
        source = Path(os.path.abspath(item))
        if source == folder or folder in source.parents:
            raise OutputRefused(f"{path} holds the input {item}: writing there could replace or mix with "
                                f"it; choose an output folder outside it")
    if path.exists() and not path.is_dir():
        raise OutputRefused(f"{path} exists and is not a folder; choose a new or empty folder for the "
                            f"{kind.name}")
    if path.is_dir() and not kind.owns(path):
        article = "an" if kind.name[0] in "aeiou" else "a"
        raise OutputRefused(f"{path} exists and is not {article} {kind.name} (it holds files this command "
                            "did not write); choose a new or empty folder, or move those files away")
    return path


@contextmanager
def atomic_path(path: str | os.PathLike, kind: OutputKind | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    Works for files and directories: whatever the block creates at the yielded path replaces ``path``. An
    existing folder at ``path`` is replaced only when it is empty or of ``kind`` (:class:`OutputKind`);
    any other folder is refused (:class:`OutputRefused`), so a user's folder is never removed.
    An OSError while writing (a full disk, a file-size limit) names ``path``, not the temporary path.
    """
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        check_output_dir(path, kind or OutputKind("file", None, ()))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from None
    target = tmp / path.name
    try:
        yield target
        if path.is_dir() and not path.is_symlink():
            check_output_dir(path, kind or OutputKind("file", None, ()))  # it may have changed meanwhile
            shutil.rmtree(path)
        os.replace(target, path)
    except OSError as err:
        if err.filename is not None and not str(err.filename).startswith(str(tmp)):
            raise  # about another file the block read, not the one written
        raise OSError(err.errno, err.strerror, str(path)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_stream(path: str | os.PathLike, serialise: Callable[[BinaryIO], None]) -> None:
    """Write what ``serialise(file)`` writes, atomically; a failed write (e.g. a full disk) is an OSError
    naming ``path``.

    Serialisers that write through their own layer (``torch.save``) report the OS's write error as their own
    RuntimeError without the errno; the error the file raised is kept and raised instead. Nothing is held in
    memory beyond the serialiser's own buffers.
    """
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        recording = _RecordingFile(handle)
        try:
            serialise(recording)
        except Exception:
            if recording.error is not None:
                raise recording.error from None
            raise


class _RecordingFile:
    """A binary file that remembers the OSError its write raised (for serialisers that replace it)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.error = handle, None

    def write(self, data) -> int:
        try:
            return self.handle.write(data)
        except OSError as err:
            self.error = err
            raise

    def flush(self) -> None:
        self.handle.flush()


def read_json(path: str | os.PathLike, *, error: type[Exception] = InputError, hint: str = "") -> Any:
    """The JSON value in ``path``. A file that is not UTF-8 JSON, or nests deeper than Python can follow, is
    ``error`` naming it (and ``hint``, what to do); a missing file is the OSError naming it."""
    text = Path(path).read_bytes()
    try:
        return json.loads(text.decode("utf-8"))
    except RecursionError:
        reason = "nested deeper than a JSON reader follows"
    except ValueError as err:  # also UnicodeDecodeError
        reason = " ".join(str(err).split())[:200]
    raise error(f"{path} is not valid JSON ({reason})" + (f"; {hint}" if hint else ""))


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n",
                       encoding="utf-8")


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write one array as ``.npy``, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, array)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


class DirectoryInUse(MultiemoError, RuntimeError):
    """Another process holds the lock of a directory (:func:`lock_directory`)."""


LOCK_NAME = ".multiemo.lock"


class LockUnsupported(MultiemoError):
    """The filesystem of a directory cannot ``flock`` (some Lustre and NFS mounts)."""


# What flock answers on a filesystem that does not implement it.
NO_FLOCK = {errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOLCK}


@contextmanager
def lock_directory(directory: str | os.PathLike, purpose: str = "in use", *,
                   unlocked: str = "") -> Iterator[Path]:
    """Hold ``directory``'s lock for the block, or raise :class:`DirectoryInUse` naming the holder.

    The lock is ``flock`` on ``directory/.multiemo.lock``, which holds the holder's pid, host and start time
    for the message. The kernel releases it when the holder's process ends in any way (also SIGKILL or a
    crash), so a dead holder never leaves the directory stuck. The file is removed on release; a process
    that locked a file removed meanwhile tries again on the new one.

    Raises:
        DirectoryInUse: another process holds the lock.
        LockUnsupported: the filesystem has no ``flock``; the message names ``directory``, says to use a local
            folder and adds ``unlocked`` (how the caller runs without the lock, e.g. a setting).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOCK_NAME
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            if err.errno in NO_FLOCK:
                path.unlink(missing_ok=True)
                raise LockUnsupported(
                    f"{directory} cannot be locked: its filesystem does not support flock ({err.strerror}), "
                    "as some Lustre and NFS mounts do not; use a folder on a local disk"
                    + (f", or {unlocked}" if unlocked else "")) from None
            if err.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise DirectoryInUse(f"{directory} is {purpose} by another process ({_holder(path)}); wait for "
                                 "it to finish or choose another directory") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and our lock: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%d %H:%M:%S %Z")}).encode())
        yield path
    finally:
        path.unlink(missing_ok=True)  # before unlocking, so a waiting process sees a fresh file
        os.close(fd)


def _holder(path: Path) -> str:
    """Who holds the lock file, as its holder wrote it (it may not have written yet)."""
    for _ in range(20):
        try:
            holder = json.loads(path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            holder = None
        if holder:
            return f"pid {holder.get('pid')} on host {holder.get('host')}, since {holder.get('since')}"
        time.sleep(0.05)
    return "holder not recorded"
