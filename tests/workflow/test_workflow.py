"""The real Snakemake workflow on a tiny corpus: outputs, reruns, config validation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from multiemo.cli import main
from tests.conftest import REPO
from tests.workflow.conftest import item_bytes, planned_jobs, report_items, snakemake, write_config


def test_end_to_end_outputs(mini_run):
    results = mini_run / "results" / "mini"
    report = results / "report"
    for name in ("results.md", "summary.json", "ablation.csv", "confusion_matrix.png", "curves.png",
                 "results.html", "ablation.html", "extraction.html", "reliability.png"):
        assert (report / name).stat().st_size > 0, name
    assert (report / "confusion_matrix.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((report / "summary.json").read_text())
    assert set(summary["variants"]) == {"full", "text"}
    wf1 = summary["variants"]["full"]["test"]["weighted_f1"]["mean"]
    assert 0.0 <= wf1 <= 100.0
    # The missing and the corrupt clip are counted, not silently dropped.
    audio = summary["extraction"]["audio"]["counts"]
    assert audio.get("missing_file") == 1 and audio.get("corrupt") == 1, audio
    assert summary["extraction"]["corpus"]["counts"].get("missing_file") == 1
    assert "| full |" in (report / "results.md").read_text()
    metrics = json.loads((results / "runs" / "full" / "seed_1" / "metrics.json").read_text())
    assert {"test", "validation", "best_epoch", "seed", "oracle_test_weighted_f1",
            "oracle_test_accuracy"} <= set(metrics)
    # each train job locked its own run directory (in parallel: --cores 2) and released it
    assert len(list(results.glob("runs/*/seed_*/metrics.json"))) == 2
    assert not list(results.glob("runs/*/seed_*/.multiemo.lock"))
    # Temperature scaling (on by default) ran on validation; test calibration is reported before and after.
    calibration = json.loads((results / "runs" / "full" / "seed_1" / "calibration.json").read_text())
    assert calibration["method"] == "temperature" and calibration["fitted_on"] == "validation"
    assert calibration["temperature"] > 0 and calibration["nll_after"] <= calibration["nll_before"] + 1e-9
    assert metrics["calibration"]["temperature"] == calibration["temperature"]
    assert {"before", "after"} <= set(metrics["test"]["calibration"])
    assert "## Calibration" in (report / "results.md").read_text()
    assert (mini_run / "logs" / "mini" / "train" / "full" / "seed_1.log").exists()
    assert (results / "benchmarks" / "assemble_store.tsv").exists()  # runtimes beside the results
    store = json.loads((results / "store" / "store.json").read_text())
    assert store["modalities"]["audio"]["dim"] == 88  # eGeMAPSv02, read from the extractor
    assert store["modalities"]["audio"]["provenance"]["feature_set"] == "eGeMAPSv02"


def _dry_run_after(workdir, corpus_root, **dataset_changes):
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    mini = config["datasets"]["mini"]
    write_config(workdir, corpus_root, **{k: v for k, v in mini.items()
                                          if k not in ("reader", "root")} | dataset_changes)
    try:
        return planned_jobs(snakemake(workdir, "--dry-run"))
    finally:
        (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def test_nothing_reruns_without_changes(mini_run):
    assert planned_jobs(snakemake(mini_run, "--dry-run")) == {}


def test_training_setting_reruns_training_only(mini_run):
    mini = yaml.safe_load((mini_run / "config.yaml").read_text())["datasets"]["mini"]
    jobs = _dry_run_after(mini_run, mini_run / "corpus", train={**mini["train"], "lr": 5e-4})
    assert jobs.get("train") == 2 and jobs.get("make_report") == 1
    assert not {"read_corpus", "audio_features", "visual_features", "text_features",
                "assemble_store"} & set(jobs)


def test_opensmile_setting_reruns_audio_not_faces_or_text(mini_run):
    mini = yaml.safe_load((mini_run / "config.yaml").read_text())["datasets"]["mini"]
    extraction = {**mini["extraction"], "audio": {"feature_set": "emobase"}}
    jobs = _dry_run_after(mini_run, mini_run / "corpus", extraction=extraction)
    assert jobs.get("audio_features") == 2 and jobs.get("assemble_store") == 1 and jobs.get("train") == 2
    assert not {"read_corpus", "visual_features", "text_features"} & set(jobs)


def test_schema_rejects_a_bad_config_with_a_clear_message(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["presets"] = {"iemocap": {"train": {"epochs": "many"}}}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    assert proc.returncode != 0
    assert "'many' is not of type 'integer'" in proc.stdout + proc.stderr


def test_a_repeated_seed_fails_the_dry_run_with_one_message(tmp_path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["datasets"]["demo"]["seeds"] = [1, 1]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "--dry-run", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Job stats" not in text
    assert text.count("config.yaml: datasets.demo.seeds [1, 1] repeats seed 1") == 1, text[-2000:]


def test_workflow_runs_record_what_multiemo_train_records(mini_run, tmp_path, monkeypatch):
    """Each workflow run's settings.json equals that of `multiemo train` on the same dataset entry and
    store."""
    config = yaml.safe_load((mini_run / "config.yaml").read_text())
    # `multiemo train` from the workflow's folder, in this process (no second start-up)
    monkeypatch.chdir(mini_run)
    for variant in config["datasets"]["mini"]["variants"]:
        out = tmp_path / variant
        assert main(["--quiet", "train", "--config", "config.yaml", "--dataset", "mini", "--features",
                     "results/mini/store", "--out", str(out), *config["variants"][variant],
                     "train.seed=1"]) == 0
        workflow_run = mini_run / "results" / "mini" / "runs" / variant / "seed_1"
        assert json.loads((out / "settings.json").read_text()) == json.loads(
            (workflow_run / "settings.json").read_text()), variant


def test_snakemakes_html_report_has_captions_tables_and_stage_categories(mini_run):
    """`snakemake --report`: every item captioned and filed under its stage; the tables are HTML, not
    downloads."""
    snakemake(mini_run, "--report", "report.html")
    items = report_items(mini_run / "report.html")
    by_name = {Path(item["filename"]).name: item for item in items}
    assert {"results.html", "ablation.html", "extraction.html", "confusion_matrix.png",
            "curves.png"} <= set(by_name)
    assert all(item["caption"].strip() for item in items), [i["filename"] for i in items
                                                            if not i["caption"].strip()]
    assert {by_name[n]["category"] for n in ("results.html", "ablation.html",
                                             "confusion_matrix.png")} == {"Evaluation"}
    assert by_name["curves.png"]["category"] == "Training"
    assert by_name["extraction.html"]["category"] == "Extraction"
    # captions are filled in
    assert "main variant (<strong>full</strong>)" in by_name["confusion_matrix.png"]["caption"]
    ablation = item_bytes(by_name["ablation.html"]).decode()
    assert by_name["ablation.html"]["mime_type"] == "text/html"
    rows = re.findall(r"<tr>\s*<td>(\w+)</td>", ablation)
    assert rows == ["full", "text"], ablation
    results = item_bytes(by_name["results.html"]).decode()
    assert results.count("<table>") == 4 and "<th>test weighted-F1</th>" in results  # scores, per class,
    assert "<td>ECE (%)</td>" in results  # calibration and extraction tables
    assert "missing_file: 1" in item_bytes(by_name["extraction.html"]).decode()


def test_snakemakes_linter_finds_nothing(tmp_path):
    """`snakemake --lint`: logs, conda envs, no absolute paths, params instead of config in scripts, and so
    on."""
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    proc = snakemake(tmp_path, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in proc.stdout + proc.stderr


def test_a_manifest_without_media_plans_text_jobs_only(tmp_path):
    """A text-only manifest (no media column, no modalities: key) schedules no audio or visual shard jobs."""
    manifest = tmp_path / "own" / "manifest.csv"
    manifest.parent.mkdir()
    manifest.write_text("dialogue_id,utterance_id,speaker,text,label,split\n"
                        "a,0,X,Hello,joy,train\nb,0,Y,No,anger,validation\nc,0,X,Hm,joy,test\n",
                        encoding="utf-8")
    write_config(tmp_path, tmp_path)
    config = yaml.safe_load((tmp_path / "config.yaml").read_text())
    config["datasets"]["mini"] = {"reader": "manifest", "manifest": str(manifest), "labels": ["joy", "anger"],
                                  "preset": "meld", "seeds": [1]}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    jobs = planned_jobs(snakemake(tmp_path, "--dry-run"))
    assert jobs.get("text_features") == 1 and jobs.get("train") == 1
    assert not {"audio_features", "visual_features"} & set(jobs)
