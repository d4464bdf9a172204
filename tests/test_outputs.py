"""Nothing is deleted that multiemo did not write: every command that writes a folder refuses a folder that is
not its own kind of output, and a folder that holds one of its inputs; the user's files stay as they were."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from multiemo.cli import main
from multiemo.data.import_features import import_features
from multiemo.data.store import STORE_FOLDER
from multiemo.io import OutputKind, OutputRefused, atomic_path, write_json
from multiemo.predict.export import export_run
from tests.data.test_legacy import _write_release

MANIFEST = "dialogue_id,utterance_id,speaker,text,label,split\n" + "".join(
    f"d{d},{u},{'AB'[u % 2]},hi,{'joy' if (d + u) % 2 else 'anger'},{'test' if d == 3 else 'train'}\n"
    for d in range(4) for u in range(2))


def _user_folder(root: Path) -> Path:
    """A user's folder with a file of theirs in it."""
    folder = root / "mine"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me")
    return folder


def _untouched(folder: Path, names: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == names
    if "notes.txt" in names:
        assert (folder / "notes.txt").read_text() == "keep me"


def _refused(capsys, command: str, code: int, *words: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err[-1].startswith(f"multiemo {command}: error: "), err
    assert all(word in err[-1] for word in words), err[-1]


def _project(root: Path) -> tuple[Path, Path]:
    """A project folder holding a manifest and its text features."""
    project = root / "proj"
    project.mkdir()
    (project / "manifest.csv").write_text(MANIFEST, encoding="utf-8")
    np.save(project / "text.npy", np.ones((8, 3), dtype=np.float32))
    return project / "manifest.csv", project / "text.npy"


# --- multiemo.io: the rule every writer follows ---

def test_atomic_path_never_replaces_a_folder_of_another_kind(tmp_path):
    mine = _user_folder(tmp_path)
    with pytest.raises(OutputRefused, match="mine exists and is not a feature store"), \
            atomic_path(mine, STORE_FOLDER) as tmp:
        tmp.mkdir()
    with pytest.raises(OutputRefused, match="mine exists and is not a file"), atomic_path(mine) as tmp:
        tmp.write_text("x")  # a file written where a folder stands: the folder stays
    _untouched(mine, {"notes.txt"})
    assert [p.name for p in tmp_path.iterdir()] == ["mine"]  # no temporary folder left behind


def test_a_folder_of_its_kind_is_replaced_only_when_it_holds_nothing_else(tmp_path):
    kind = OutputKind("thing", "thing.json", ("thing.json", "*.npy"))
    folder = tmp_path / "out"
    for content in ("1", "2"):
        with atomic_path(folder, kind) as tmp:
            tmp.mkdir()
            (tmp / "thing.json").write_text(content)
    assert (folder / "thing.json").read_text() == "2"
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(OutputRefused, match="not a thing"), atomic_path(folder, kind) as tmp:
        tmp.mkdir()
    _untouched(folder, {"thing.json", "notes.txt"})
    empty = tmp_path / "empty"
    empty.mkdir()
    write_json(empty, {"a": 1})  # an empty folder holds nothing to lose
    assert empty.is_file()


# --- import-features ---

def test_import_features_refuses_a_users_folder_and_the_manifests_folder(tmp_path, capsys):
    manifest, text = _project(tmp_path)
    mine = _user_folder(tmp_path)
    code = main(["import-features", str(manifest), str(mine), "--features", f"text={text}"])
    _refused(capsys, "import-features", code, "mine exists and is not a feature store")
    _untouched(mine, {"notes.txt"})
    code = main(["import-features", str(manifest), str(manifest.parent), "--features", f"text={text}"])
    _refused(capsys, "import-features", code, "holds the input", "manifest.csv")
    _untouched(manifest.parent, {"manifest.csv", "text.npy"})


def test_import_features_replaces_its_own_store_but_not_one_the_user_added_to(tmp_path):
    manifest, text = _project(tmp_path)
    store = tmp_path / "store"
    import_features(manifest, {"text": text}, store)
    import_features(manifest, {"text": text}, store, seed=1)  # an earlier store is replaced
    assert '"seed 1"' not in (store / "store.json").read_text() and (store / "text.npy").is_file()
    (store / "notes.txt").write_text("keep me")
    with pytest.raises(OutputRefused, match="not a feature store"):
        import_features(manifest, {"text": text}, store)
    assert (store / "notes.txt").read_text() == "keep me" and (store / "store.json").is_file()


# --- import-legacy ---

def test_import_legacy_refuses_a_users_folder_and_the_releases_folder(tmp_path, capsys):
    release = tmp_path / "release"
    release.mkdir()
    _write_release(release, "meld", ["a", "b", "c"], ["t"], {"a": 2, "b": 3, "c": 2, "t": 2})
    before = {p.name for p in release.iterdir()}
    mine = _user_folder(tmp_path)
    code = main(["import-legacy", "--dataset", "meld", str(release), str(mine)])
    _refused(capsys, "import-legacy", code, "mine exists and is not a feature store")
    _untouched(mine, {"notes.txt"})
    code = main(["import-legacy", "--dataset", "meld", str(release), str(release)])
    _refused(capsys, "import-legacy", code, "holds the input")
    _untouched(release, before)
    assert main(["import-legacy", "--dataset", "meld", str(release), str(tmp_path / "store")]) == 0


# --- train --out (one run, or --seeds) ---

def test_train_refuses_a_users_folder_and_the_stores_folder(tmp_path, capsys):
    manifest, text = _project(tmp_path)
    store = import_features(manifest, {"text": text}, tmp_path / "data" / "store").root
    mine = _user_folder(tmp_path)
    for extra in ([], ["--seeds", "1,2"]):
        code = main(["train", "--dataset", "small_corpus", "--features", str(store), "--out", str(mine),
                     *extra])
        _refused(capsys, "train", code, "mine exists and is not a")
        _untouched(mine, {"notes.txt"})
        code = main(["train", "--dataset", "small_corpus", "--features", str(store), "--out",
                     str(store.parent), *extra])
        _refused(capsys, "train", code, "holds the input", "store")
        _untouched(store.parent, {"store"})


# --- predict --out ---

def test_predict_refuses_a_users_folder_and_the_videos_folder(tmp_path, capsys):
    # the folder is checked before the run is loaded: a run that does not exist is never reached
    talk = tmp_path / "talk"
    talk.mkdir()
    (talk / "talk.mp4").write_bytes(b"not read")
    mine = _user_folder(tmp_path)
    code = main(["predict", "--run", str(tmp_path / "run"), "--video", str(talk / "talk.mp4"), "--out",
                 str(mine)])
    _refused(capsys, "predict", code, "mine exists and is not a prediction folder")
    _untouched(mine, {"notes.txt"})
    code = main(["predict", "--run", str(tmp_path / "run"), "--video", str(talk / "talk.mp4"), "--out",
                 str(talk)])
    _refused(capsys, "predict", code, "holds the input", "talk.mp4")
    _untouched(talk, {"talk.mp4"})


# --- export ---

def test_export_refuses_the_runs_own_folder_and_an_export_the_user_added_to(tmp_path, capsys):
    project = tmp_path / "proj"
    (project / "run").mkdir(parents=True)
    code = main(["export", str(project / "run"), str(project)])
    _refused(capsys, "export", code, "holds the input", "run")
    export = tmp_path / "export"
    export.mkdir()
    (export / "config.json").write_text("{}")
    (export / "notes.txt").write_text("keep me")
    with pytest.raises(OutputRefused, match="is not an exported model"):
        export_run(project / "run", export)
    _untouched(export, {"config.json", "notes.txt"})
