"""Experiment tracking (``train.tracking``): each epoch's history record also goes to MLflow and/or
TensorBoard.

Both are optional (the ``tracking`` extra) and imported only when switched on, so a normal run never loads
them. Each record is sent as soon as its epoch ends (``history.jsonl`` stays the run's own record); a
resumed run goes on logging into the MLflow run it started, whose id it keeps in ``RUN/tracking.json``.
:func:`multiemo.training.train_run` opens the tracker around the training loop, which knows nothing
of it.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path

from multiemo.io import write_json
from multiemo.settings import ConfigError
from multiemo.training.config import TrackingConfig

log = logging.getLogger(__name__)


class Tracker:
    """Sends epoch records to the enabled backends; with none enabled it does nothing. A context manager:
    leaving it closes them, with the run marked failed when an exception leaves the block."""

    def __init__(self, sinks: list) -> None:
        self.sinks = sinks

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace) -> None:
        self.close(failed=kind is not None)

    def log_epoch(self, record: Mapping) -> None:
        """Send the numbers of one history record (nested ones as ``train_parts/ce``), at step ``epoch``."""
        values = scalars(record)
        for sink in self.sinks:
            sink.log(values, int(record["epoch"]))

    def close(self, failed: bool = False) -> None:
        for sink in self.sinks:
            sink.close(failed)


def scalars(record: Mapping, prefix: str = "") -> dict[str, float]:
    """The numeric entries of a record, nested mappings flattened with ``/``; booleans as 0/1."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            out.update(scalars(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and key != "epoch":
            out[f"{prefix}{key}"] = float(value)
    return out


def open_tracker(config: TrackingConfig, run_dir: str | os.PathLike, settings: Mapping,
                 store: str | os.PathLike) -> Tracker:
    """The tracker of a run directory for ``config`` (``settings``, the run's model and train settings, and
    the store path are MLflow's parameters); a backend switched on but not installed is a ConfigError."""
    run_dir = Path(run_dir)
    sinks = []
    if config.mlflow:
        params = {f"{section}.{key}": value for section in ("model", "train")
                  for key, value in (settings.get(section) or {}).items()}
        params["store"] = str(Path(store).resolve())
        sinks.append(_MlflowSink(config, run_dir, params))
    if config.tensorboard:
        sinks.append(_TensorBoardSink(Path(config.tensorboard_dir or run_dir / "tensorboard")))
    return Tracker(sinks)


def _require(module: str, setting: str):
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ConfigError(
            f"train.tracking.{setting} is on, but {module.split('.')[0]} cannot be imported ({err}); "
            "install the tracking extra (pip install 'multiemo[tracking]') or set "
            f"train.tracking.{setting}=false"
        ) from None


class _MlflowSink:
    def __init__(self, config: TrackingConfig, run_dir: Path, params: Mapping) -> None:
        tracking = _require("mlflow.tracking", "mlflow")
        self.entities = _require("mlflow.entities", "mlflow")
        # MLflow 3 keeps a local store in SQLite (its file store is refused unless opted into)
        uri = config.mlflow_uri or f"sqlite:///{(run_dir / 'mlflow.db').resolve()}"
        self.client = tracking.MlflowClient(tracking_uri=uri)
        self.state_file = run_dir / "tracking.json"
        recorded = json.loads(self.state_file.read_text(encoding="utf-8")) if self.state_file.exists() else {}
        if recorded.get("mlflow_uri") == uri and recorded.get("mlflow_run_id"):
            self.run_id = recorded["mlflow_run_id"]  # resuming: the same MLflow run
            self.client.update_run(self.run_id, status="RUNNING")
        else:
            experiment = self.client.get_experiment_by_name(config.mlflow_experiment)
            experiment_id = (experiment.experiment_id if experiment is not None
                             else self.client.create_experiment(config.mlflow_experiment))
            run = self.client.create_run(experiment_id, run_name=run_dir.name,
                                         tags={"multiemo.run_dir": str(run_dir.resolve())})
            self.run_id = run.info.run_id
            self.client.log_batch(self.run_id, params=[self.entities.Param(key, str(value)[:500])
                                                       for key, value in params.items()])
            write_json(self.state_file, {"mlflow_uri": uri, "mlflow_run_id": self.run_id})
        log.info("tracking to MLflow %s, run %s", uri, self.run_id)

    def log(self, values: Mapping[str, float], step: int) -> None:
        now = int(time.time() * 1000)
        metrics = [self.entities.Metric(key, value, now, step) for key, value in values.items()]
        self.client.log_batch(self.run_id, metrics=metrics)

    def close(self, failed: bool) -> None:
        self.client.set_terminated(self.run_id, status="FAILED" if failed else "FINISHED")


class _TensorBoardSink:
    def __init__(self, log_dir: Path) -> None:
        _require("tensorboard", "tensorboard")  # torch's SummaryWriter needs it; say so in our words
        writer = _require("torch.utils.tensorboard", "tensorboard")
        self.writer = writer.SummaryWriter(log_dir=str(log_dir))
        log.info("TensorBoard event files in %s", log_dir)

    def log(self, values: Mapping[str, float], step: int) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)
        self.writer.flush()  # a crash later keeps every finished epoch

    def close(self, failed: bool) -> None:
        self.writer.close()
