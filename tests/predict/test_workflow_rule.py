"""The workflow's `predict` target on a trained run: outputs, up to date afterwards, config errors."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.workflow.conftest import planned_jobs, snakemake

pytestmark = pytest.mark.slow  # real Snakemake runs


def write_predict_config(workdir, **predict):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["predict"].update(predict)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


# A whole Snakemake run of `predict` on video and subtitles (24 s of make test's 6.9 min): `make test-deploy`
# runs it; make test runs the same rule for real through the toy plugin's workflow
# (tests/features/test_registry.py, the workflow's `predict` target up to predictions.csv) and plans it here
# below.
@pytest.mark.deploy
def test_predict_target_writes_predictions_once(trained_run, talk, tmp_path):
    out = tmp_path / "predictions"
    write_predict_config(tmp_path, run=str(trained_run), video=str(talk["video"]),
                         transcript=str(talk["srt"]), out=str(out), device="cpu",
                         extraction={"visual": {"batch_size": 8}})
    snakemake(tmp_path, "predict", "--set-threads", "predict=1")  # the test machine's cores are shared
    table = pd.read_csv(out / "predictions.csv")
    assert len(table) == 3 and (table["modalities"] == "text+audio+visual").all()
    assert (out / "timeline.png").exists() and (tmp_path / "logs" / "predict" / "predictions.log").exists()
    assert (out / "predictions.html").stat().st_size > 0
    assert planned_jobs(snakemake(tmp_path, "predict", "--dry-run")) == {}


def test_predict_target_explains_what_to_configure(tmp_path):
    write_predict_config(tmp_path)
    proc = snakemake(tmp_path, "predict", "--dry-run", check=False)
    assert proc.returncode != 0
    assert ("needs predict.video (optionally with predict.transcript) or predict.manifest"
            in proc.stdout + proc.stderr)
    write_predict_config(tmp_path, video="talk.mp4", speed=2)
    proc = snakemake(tmp_path, "predict", "--dry-run", check=False)
    assert proc.returncode != 0 and "'speed' was unexpected" in proc.stdout + proc.stderr
