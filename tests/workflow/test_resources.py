"""What the workflow's jobs ask the scheduler for comes from config.yaml's `resources:` (defaults from the
schema), and the `custom` entry a user copies schedules only the modalities its manifest has (dry runs)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.conftest import make_planning_meld, planned_jobs, snakemake

pytestmark = pytest.mark.slow  # Snakemake dry runs


def _resources_by_rule(log: str) -> dict[str, dict[str, set[int]]]:
    """Rule -> {resource or "threads": the values its jobs declare}, from a dry run's job listing."""
    found: dict[str, dict[str, set[int]]] = {}
    for block in re.split(r"^rule ", log, flags=re.MULTILINE)[1:]:
        rule = block.split(":", 1)[0]
        line = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        values = dict(re.findall(r"\b(mem_mb|runtime)=(\d+)", line.group(1))) if line else {}
        threads = re.search(r"^\s+threads: (\d+)$", block, re.MULTILINE)
        values["threads"] = threads.group(1) if threads else "1"
        for key, value in values.items():
            found.setdefault(rule, {}).setdefault(key, set()).add(int(value))
    return found


def _plan(tmp_path, resources: dict | None) -> dict[str, dict[str, set[int]]]:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    if resources is not None:
        config["resources"] = resources
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    layout = tmp_path / config["datasets"]["meld"]["root"]
    if not layout.exists():  # planning reads the corpus: a small MELD layout, an empty clip per row
        make_planning_meld(layout)
    proc = snakemake(tmp_path, "--dry-run", "train_meld")
    return _resources_by_rule(proc.stdout + proc.stderr)


def test_default_resources_are_the_schemas_and_config_overrides_them(tmp_path):
    defaults = _plan(tmp_path, None)
    assert defaults["train"] == {"mem_mb": {8000}, "runtime": {240}, "threads": {1}}
    assert defaults["visual_features"] == {"mem_mb": {8000}, "runtime": {240}, "threads": {1}}
    assert defaults["text_features"]["threads"] == {2}  # the extractor's own
    assert defaults["read_corpus"]["mem_mb"] == {2000} and defaults["assemble_store"]["mem_mb"] == {4000}
    chosen = _plan(tmp_path, {"train_gpu": 1, "extraction_gpu": 0, "features": {"runtime": 480},
                              "visual_features": {"mem_mb": 6000}, "train": {"mem_mb": 3000, "threads": 2}})
    # runtime kept its default; threads up to the dry run's --cores 2, which caps what a job may ask
    assert chosen["train"] == {"mem_mb": {3000}, "runtime": {240}, "threads": {2}}
    assert chosen["visual_features"] == {"mem_mb": {6000}, "runtime": {480}, "threads": {1}}
    assert chosen["audio_features"] == {"mem_mb": {8000}, "runtime": {480}, "threads": {1}}
    assert chosen["read_corpus"] == defaults["read_corpus"]


def test_a_misspelt_resource_is_refused_by_the_schema(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["resources"]["train"] = {"mem_gb": 8}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "--dry-run", "train_meld", check=False)
    assert proc.returncode != 0 and "mem_gb" in proc.stdout + proc.stderr


def test_the_custom_entry_of_a_text_only_manifest_schedules_no_audio_or_visual_job(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    assert "modalities" not in config["datasets"]["custom"]
    config["dataset"] = "custom"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    manifest = tmp_path / config["datasets"]["custom"]["manifest"]
    manifest.parent.mkdir(parents=True)
    rows = [f"d{d},{u},{'AB'[u % 2]},line {u} of d{d},{['neutral', 'joy'][u % 2]},{split}"
            for d, split in enumerate(["train", "train", "validation", "test"]) for u in range(3)]
    manifest.write_text("dialogue_id,utterance_id,speaker,text,label,split\n" + "\n".join(rows) + "\n")
    jobs = planned_jobs(snakemake(tmp_path, "--dry-run"))
    assert jobs["text_features"] == 1 and jobs["train"] >= 1
    assert not {"audio_features", "visual_features"} & set(jobs)


def test_a_plugin_extractor_states_its_env_threads_and_gpu_in_the_config(tmp_path):
    """Scheduling is the workflow's: a plugin extractor's jobs run where resources.<modality>_features
    says."""
    import tests.features.toy_length as plugin
    from multiemo.features.registry import register_extractor, unregister_extractor
    from tests.workflow.test_settings import _workflow_jobs

    # the planning below loads the plugin in this process; an earlier test may have imported it (and taken
    # its entry away again), in which case the import registers nothing
    register_extractor(plugin.ENTRY, replace=True)

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["plugins"] = ["tests.features.toy_length"]
    config["datasets"] = {"toy": {"reader": "manifest", "manifest": "corpus.csv",
                                  "modalities": ["text", "length"], "preset": "small_corpus", "seeds": [1],
                                  "variants": ["full"]}}
    config["dataset"] = "toy"
    config["resources"] = {"extraction_gpu": 1,
                           "length_features": {"env": "audio", "threads": 2, "gpu": True}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "corpus.csv").write_text("path\n")
    try:
        jobs = {j.rule.name: j for j in _workflow_jobs(tmp_path, ["results/toy/store"])}
    finally:
        unregister_extractor("length")
    length, text = jobs["length_features"], jobs["text_features"]
    assert str(length.rule.conda_env).endswith("envs/audio.yaml") and length.resources["gpu"] == 1
    assert length.rule.resources["_cores"] == 2  # as declared (the planning here caps jobs at 1 core)
    assert str(text.rule.conda_env).endswith("envs/text.yaml") and text.resources["gpu"] == 1  # the table's
