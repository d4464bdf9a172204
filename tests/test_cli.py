"""Conventions of the multiemo command: --version, clean help, overrides anywhere, packaged presets, exit
codes (0 ok, 1 handled error, 2 usage, 3 internal), a claimed run directory and a full disk."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

import multiemo.io
from multiemo.cli import EXIT_ERROR, EXIT_INTERNAL, EXIT_USAGE, build_parser, main, parse_args
from multiemo.io import LOCK_NAME, lock_directory
from multiemo.training.config import packaged_presets, resolve_run_settings
from tests.conftest import REPO, make_learnable_store

SMALL = ["model.model_dim=16", "model.num_heads=2", "model.hidden_dim=32", "model.num_layers=1",
         "model.classifier_hidden=16", "model.context_modalities=[audio]", "train.batch_size=3",
         "train.lr=0.01", "train.device=cpu"]


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"multiemo {version('multiemo')}"


def test_help_has_no_rest_markup_and_states_the_exit_codes():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in {"multiemo": parser, **subparsers}.items():
        text = sub.format_help()
        assert "``" not in text and ":func:" not in text and ":class:" not in text, name
    for text in (parser.format_help(), subparsers["train"].format_help()):
        assert all(f"  {code} " in text for code in ("0", "1", "2", "3")) and "internal error" in text


def test_overrides_are_accepted_anywhere_on_the_line_in_order():
    args = parse_args(["train", "--seeds", "1,2", "train.epochs=3", "--dataset", "meld", "model.fusion=false",
                       "--features", "S", "--out", "RUN", "train.epochs=5", "train.lr=1e-3"])
    assert args.seeds == [1, 2] and args.out == "RUN" and args.features == "S"
    assert args.overrides == ["train.epochs=3", "model.fusion=false", "train.epochs=5", "train.lr=1e-3"]
    settings = resolve_run_settings({}, args.dataset, args.overrides)
    assert settings["train"]["epochs"] == 5 and settings["model"]["fusion"] is False  # the last one wins


@pytest.mark.parametrize("argv", [["train", "--dataset", "meld", "--features", "S", "--out", "R", "--bogus"],
                                  ["evaluate", "RUN", "stray=1"], ["train", "--dataset", "meld"], ["nope"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == EXIT_USAGE and "usage: multiemo" in capsys.readouterr().err


def test_a_repeated_seed_is_refused_with_one_message(capsys, tmp_path):
    """`--seeds 1,1` would train one run and count it twice (n = 2, std 0.00): refused before any work."""
    with pytest.raises(SystemExit) as stop:
        main(["train", "--dataset", "meld", "--features", "S", "--out", str(tmp_path / "R"), "--seeds",
              "1,2,1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert stop.value.code == EXIT_USAGE and "--seeds [1, 2, 1] repeats seed 1" in err[-1]
    assert not (tmp_path / "R").exists()


def test_packaged_presets_train_from_any_folder(tmp_path, monkeypatch):
    """No config.yaml in the working folder: --dataset names a packaged preset."""
    monkeypatch.chdir(tmp_path)
    store = make_learnable_store(tmp_path / "store")
    code = main(["--quiet", "train", "--dataset", "small_corpus", "--features", str(store.root), "--out",
                 "run", *SMALL, "train.epochs=1"])
    assert code == 0
    recorded = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert recorded["model"]["dropout"] == 0.3 and recorded["train"]["epochs"] == 1
    assert not (tmp_path / "run" / LOCK_NAME).exists()  # released and removed


def test_repo_config_refers_to_the_packaged_presets():
    """One source of truth: config.yaml defines no preset of its own; its datasets use the packaged ones."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert config["presets"] == {}
    assert {"meld", "iemocap", "small_corpus"} <= set(packaged_presets())
    assert {e.get("preset", name) for name, e in config["datasets"].items()} <= set(packaged_presets())


def test_a_config_preset_is_added_and_one_of_the_same_name_replaces_the_packaged_one():
    config = {"presets": {"mine": {"train": {"epochs": 3}}, "iemocap": {"train": {"epochs": 7}}}}
    assert resolve_run_settings(config, "mine")["train"]["epochs"] == 3
    replaced = resolve_run_settings(config, "iemocap")
    assert replaced["train"]["epochs"] == 7 and replaced["model"]["num_layers"] == 2  # whole: not merged
    assert resolve_run_settings({}, "iemocap")["model"]["num_layers"] == 6


def test_a_handled_error_exits_1_with_one_line(tmp_path, capsys):
    code = main(["train", "--dataset", "no_such", "--features", str(tmp_path), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_ERROR and err == [err[-1]] and "unknown dataset 'no_such'" in err[-1]


def test_an_internal_error_exits_3_with_the_traceback(tmp_path, capsys, monkeypatch):
    import multiemo.evaluation.evaluate

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(multiemo.evaluation.evaluate, "evaluate_run", broken)
    assert main(["evaluate", str(tmp_path)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error (ZeroDivisionError: a bug)" in err and "report" in err


_HOLD = ("import sys, time\nfrom multiemo.io import lock_directory\n"
         "with lock_directory(sys.argv[1], 'being trained'):\n    print('held', flush=True)\n    "
         "time.sleep(120)\n")


def test_a_run_directory_held_by_another_process_is_refused_until_that_process_dies(tmp_path, capsys):
    """Two real processes: a holder of the run directory's lock, then this one training into it; the
    holder is then killed with SIGKILL (no cleanup runs) and the directory is free again."""
    run = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(run)], stdout=subprocess.PIPE, text=True,
                              cwd=REPO)
    try:
        assert holder.stdout.readline().strip() == "held"
        code = main(["--quiet", "train", "--dataset", "meld", "--features", str(tmp_path / "store"),
                     "--out", str(run)])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == EXIT_ERROR and len(err) == 1
        assert f"{run} is being trained by another process (pid {holder.pid} on host " in err[0]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (run / LOCK_NAME).exists()  # left behind by the killed holder, but no longer locked
    with lock_directory(run):
        pass


@pytest.mark.slow
def test_two_trainings_into_one_folder_one_refused_and_a_killed_one_leaves_it_usable(tmp_path):
    """The issue's case with two real `multiemo train` processes: the second stops with a message naming
    the holder (the history is never interleaved); after SIGKILL of the first, training there works."""
    store = make_learnable_store(tmp_path / "store")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "multiemo.cli", "--quiet", "train", "--dataset", "meld", "--features",
           str(store.root), "--out", str(run), *SMALL]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([*cmd, "train.epochs=500"], cwd=REPO, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not (run / "history.jsonl").exists():  # the first holds the lock and trains
            assert first.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        second = subprocess.run([*cmd, "train.epochs=500"], check=False, cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == EXIT_ERROR, second.stderr
        assert f"pid {first.pid} on host" in second.stderr and str(run) in second.stderr
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    epochs = [json.loads(line)["epoch"] for line in (run / "history.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, len(epochs) + 1))
    # the killed run's directory is free: the same command with other settings is refused for its settings
    # (not for a stuck lock), and the workflow's mode starts it afresh
    again = subprocess.run([*cmd, "train.epochs=2"], check=False, cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == EXIT_ERROR and "different settings (train.epochs)" in again.stderr


class _FullDisk(io.BytesIO):
    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_during_train_is_one_message_naming_the_file(tmp_path, capsys, monkeypatch):
    """Simulated: the `open` that multiemo.io uses for a checkpoint's file (the real file-write call of
    save_checkpoint) returns a file whose write raises OSError(ENOSPC), as a full disk does. The test
    below fills a real tmpfs where the machine allows it."""
    store = make_learnable_store(tmp_path / "store")
    monkeypatch.setattr(multiemo.io, "open", lambda *a, **k: _FullDisk(), raising=False)
    code = main(["--quiet", "train", "--dataset", "meld", "--features", str(store.root),
                 "--out", str(tmp_path / "run"), *SMALL, "train.epochs=2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == EXIT_ERROR and len(err) == 1
    assert f"{tmp_path / 'run' / 'best.pt'}: No space left on device (ENOSPC)" in err[0]
    left = sorted(p.name for p in (tmp_path / "run").iterdir())
    # no checkpoint, temporary file or metrics
    assert left == ["history.jsonl", "provenance.json", "settings.json"]
    assert (tmp_path / "run" / "history.jsonl").read_text() == ""  # no epoch recorded as finished


@pytest.mark.slow
def test_a_really_full_disk_during_train(tmp_path):
    """Real ENOSPC: the run directory on a 64 KiB tmpfs (needs root and mount, as in CI; skipped otherwise).
    The first checkpoint (~300 KB) does not fit; after the failure the same command on a disk with space
    resumes and finishes."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], check=False).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        store = make_learnable_store(tmp_path / "store")
        cmd = [sys.executable, "-m", "multiemo.cli", "--quiet", "train", "--dataset", "meld", "--features",
               str(store.root), "--out", str(disk / "run"), *SMALL, "train.epochs=1"]
        proc = subprocess.run(cmd, check=False, cwd=REPO, capture_output=True, text=True, timeout=300)
        assert proc.returncode == EXIT_ERROR and "Traceback" not in proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert f"{disk / 'run' / 'best.pt'}: No space left on device (ENOSPC)" in last
        assert sorted(p.name for p in (disk / "run").iterdir()) == ["history.jsonl", "provenance.json",
                                                                    "settings.json"]
        assert (disk / "run" / "history.jsonl").read_text() == ""
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_usage_error_from_argparse_is_2_from_a_real_process():
    proc = subprocess.run([sys.executable, "-m", "multiemo.cli", "train"], check=False, cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == EXIT_USAGE and "required" in proc.stderr
    assert Path(REPO / "README.md").read_text().count("| 3 |") == 1  # the README's exit-code table
