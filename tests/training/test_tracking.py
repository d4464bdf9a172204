"""train.tracking: every epoch's record in a local MLflow store (SQLite) and a TensorBoard log dir
(no server), read back with each tool's own reader; off by default and never imported then."""

import subprocess
import sys

import pytest

from multiemo.runs.history import read_history
from multiemo.training import train_run
from multiemo.training.config import ConfigError, TrackingConfig
from multiemo.training.tracking import open_tracker
from tests.conftest import REPO, make_learnable_store
from tests.training.test_trainer import SMALL


@pytest.mark.slow  # MLflow's SQLite store migrates its schema first: ~30 s
def test_epochs_go_to_mlflow_and_tensorboard(tmp_path):
    mlflow = pytest.importorskip("mlflow.tracking")
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    store = make_learnable_store(tmp_path / "store")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = {"mlflow": True, "mlflow_uri": uri, "mlflow_experiment": "toy", "tensorboard": True}
    settings = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 2, "tracking": tracking}}
    train_run(store.root, settings, tmp_path / "run", progress=False)
    history = read_history(tmp_path / "run" / "history.jsonl")

    client = mlflow.MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("toy").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["train.epochs"] == "2"
    logged = client.get_metric_history(run.info.run_id, "validation_weighted_f1")
    assert [(m.step, m.value) for m in logged] == [(r["epoch"], r["validation_weighted_f1"]) for r in history]
    assert [m.value for m in client.get_metric_history(run.info.run_id, "train_parts/ce")] == [
        r["train_parts"]["ce"] for r in history]

    events = event_accumulator.EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    scalars = events.Scalars("validation_loss")
    assert [s.step for s in scalars] == [1, 2]
    assert [s.value for s in scalars] == pytest.approx([r["validation_loss"] for r in history], rel=1e-6)

    # tracking is not part of what the run is: the same run without it resumes (here: is already done)
    plain = {"model": SMALL["model"], "train": {**SMALL["train"], "epochs": 2}}
    train_run(store.root, plain, tmp_path / "run", progress=False)

    # a run that fails is marked so, not left running
    text_only = make_learnable_store(tmp_path / "text_store", dims={"text": 4})
    with pytest.raises(ConfigError, match="holds only"):
        train_run(text_only.root, settings, tmp_path / "failed", progress=False)
    runs = client.search_runs([client.get_experiment_by_name("toy").experiment_id], "run_name = 'failed'")
    assert [r.info.status for r in runs] == ["FAILED"]


def test_a_missing_tracking_package_is_one_message(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as if not installed: import raises ImportError
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(ConfigError, match=r"train.tracking.mlflow is on, but mlflow cannot be imported.*"
                                          r"pip install 'multiemo\[tracking\]'"):
        open_tracker(TrackingConfig(mlflow=True), tmp_path, {"model": {}, "train": {}}, tmp_path)


@pytest.mark.slow
def test_normal_runs_do_not_import_the_trackers(tmp_path):
    code = ("import sys\nfrom multiemo.training import train_run\nfrom tests.conftest import "
            "make_learnable_store\nfrom tests.training.test_trainer import SMALL\n"
            f"store = make_learnable_store({str(tmp_path / 'store')!r})\n"
            "train_run(store.root, {'model': SMALL['model'], 'train': {**SMALL['train'], 'epochs': 1}}, "
            f"{str(tmp_path / 'run')!r}, progress=False)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('mlflow', 'tensorboard')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]"
