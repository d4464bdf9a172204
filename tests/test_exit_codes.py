"""Exit codes that tell the truth: what a user can fix is one line and exit 1 (multiemo's own error types, a
GPU out of memory, a file asking for more memory than there is, a filesystem without flock); anything else,
a plain ValueError included, is a bug: exit 3 with the traceback."""

from __future__ import annotations

import errno
import os
import pickle

import numpy as np
import pytest
import torch

import multiemo.io
from multiemo.cli import EXIT_ERROR, EXIT_INTERNAL, main
from multiemo.errors import InputError, MultiemoError
from multiemo.io import DirectoryInUse
from multiemo.models import MultiEMO
from multiemo.settings import ConfigError
from tests.conftest import make_learnable_store
from tests.test_cli import SMALL


def _train(store, out, *extra):
    return main(["--quiet", "train", "--dataset", "meld", "--features", str(store), "--out", str(out), *SMALL,
                 "train.epochs=1", *extra])


def test_the_project_errors_are_one_family():
    assert issubclass(ConfigError, InputError) and issubclass(InputError, ValueError)
    assert issubclass(DirectoryInUse, MultiemoError)


def test_a_plain_value_error_is_a_bug_with_its_traceback(tmp_path, capsys, monkeypatch):
    import multiemo.evaluation.evaluate

    def broken(*args, **kwargs):
        raise ValueError("operands could not be broadcast together")  # what a bug in numerical code raises

    monkeypatch.setattr(multiemo.evaluation.evaluate, "evaluate_run", broken)
    assert main(["evaluate", str(tmp_path)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error (ValueError: operands could not" in err


def test_gpu_out_of_memory_names_the_settings_to_lower(tmp_path, capsys, monkeypatch):
    """torch.OutOfMemoryError (torch.cuda.OutOfMemoryError) raised where CUDA raises it: inside the model's
    forward pass of a real training run."""
    store = make_learnable_store(tmp_path / "store")

    def out_of_memory(self, *args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 15.7 GiB "
                                          "total capacity; 14.9 GiB already allocated)")

    monkeypatch.setattr(MultiEMO, "forward", out_of_memory)
    code = _train(store.root, tmp_path / "run")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_ERROR and len(err) == 1, err
    assert "the GPU ran out of memory (CUDA out of memory. Tried to allocate 2.00 GiB" in err[0]
    for setting in ("train.batch_size", "train.checkpoint_fusion=true", "train.precision=bf16",
                    "train.device=cpu"):
        assert setting in err[0]


class _Huge:
    """Pickles as ``numpy.ndarray((2**40,))``: a 2**40-element array, 8 TiB of float64."""

    def __reduce__(self):
        return np.ndarray, ((2**40,),)


def test_a_pickle_asking_numpy_for_2_to_the_40_elements_is_a_message(tmp_path, capsys):
    source = tmp_path / "text.pkl"
    source.write_bytes(pickle.dumps({"d1": _Huge()}, protocol=2))
    code = _import(tmp_path, source)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_ERROR and len(err) == 1, err
    assert f"{source} asks for 8192 GiB for one array" in err[0]


def test_a_16_byte_pickle_claiming_2_to_the_40_bytes_is_a_message(tmp_path, capsys):
    source = tmp_path / "text.pkl"
    source.write_bytes(b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"abcd")  # BINBYTES8, 2**40 bytes
    assert source.stat().st_size == 15
    code = _import(tmp_path, source)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_ERROR and len(err) == 1, err
    assert f"{source} asks for 1024 GiB in one piece but holds only" in err[0]


def _import(tmp_path, source):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("dialogue_id,utterance_id,speaker,text,label,split\nd1,0,A,hi,joy,train\n"
                        "d1,1,B,ho,anger,train\nd2,0,A,ha,joy,validation\nd3,0,B,he,anger,test\n",
                        encoding="utf-8")
    return main(["--quiet", "import-features", str(manifest), str(tmp_path / "store"), "--features",
                 f"text={source}"])


def test_a_filesystem_without_flock_names_the_run_directory_and_the_way_out(tmp_path, capsys, monkeypatch):
    store = make_learnable_store(tmp_path / "store")

    def no_flock(fd, operation):
        raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))  # what Lustre without -o flock answers

    monkeypatch.setattr(multiemo.io.fcntl, "flock", no_flock)
    run = tmp_path / "lustre" / "run"
    code = _train(store.root, run)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_ERROR and len(err) == 1, err
    assert (f"{run} cannot be locked: its filesystem does not support flock (Function not implemented)"
            in err[0])
    assert "use a folder on a local disk" in err[0] and "train.lock=false" in err[0]
    assert not (run / multiemo.io.LOCK_NAME).exists()

    # The way out works, and switching the lock off does not change what the run is.
    assert _train(store.root, run, "train.lock=false") == 0
    assert _train(store.root, run) == EXIT_ERROR  # still no flock: the setting is needed on every start
    monkeypatch.undo()
    assert _train(store.root, run) == 0  # a locked start resumes the same (finished) run


@pytest.mark.parametrize("code", [errno.EWOULDBLOCK, errno.EACCES])
def test_a_busy_lock_is_still_told_apart_from_a_missing_flock(tmp_path, monkeypatch, code):
    def busy(fd, operation):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(multiemo.io.fcntl, "flock", busy)
    with pytest.raises(DirectoryInUse), multiemo.io.lock_directory(tmp_path, "being trained"):
        pass
