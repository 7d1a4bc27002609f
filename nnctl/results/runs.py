"""Recording a training run into its directory, and reading runs back.

While a run trains, its process holds a lock on the run directory (:class:`~.store.RunLock`) and
``metrics.csv`` says ``running``. A run whose ``metrics.csv`` still says ``running`` but whose
lock nobody holds was stopped without recording how it ended (killed, power lost): reading it back
(:mod:`.artifacts`) reports it as ``incomplete``. A run stopped by an error after it started (a full disk) records
``failed`` and the error where it still can.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

from ..core.errors import NnctlError, one_line
from ..training.callbacks import Callback
from .provenance import data_hash, provenance
from .store import CURVE_COLUMNS, RunLock, write_csv, write_json, write_weights

DIAGNOSTICS_COLUMNS = ["epoch", "layer", "stat", "value"]
METRICS_COLUMNS = [
    "status",
    "stop_reason",
    "epochs_run",
    "steps",
    "best_epoch",
    "monitor",
    "best_val_loss",
    "best_val_acc",
    "best_val_mae",
    "eval_train_loss",
    "eval_train_acc",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "eval_train_mse",
    "eval_train_mae",
    "eval_train_r2",
    "val_mse",
    "val_mae",
    "val_r2",
    "test_mse",
    "test_mae",
    "test_r2",
    "params",
    "restored_best",
    "warnings",
    "wall_seconds",
    "train_seconds",
    "samples_per_second_mean",
    "started",
    "finished",
    "pruned_epoch",
    "audited",
]


#: what a run directory keeps to apply its model to new data (see :func:`preprocessing`)
PREPROCESSING = "preprocessing.json"


def preprocessing(run) -> dict[str, Any]:
    """Everything fitted on the run's training split that new data must go through before the model
    sees it, as data: the task, the input shape, the class names (the model's output i is
    ``classes[i]``), the feature names and their order (CSV inputs are matched by name), the target
    column, and the standardization (per feature or per channel)."""
    ds, scaler = run.dataset, run.splits.standardizer
    return {
        "task": ds.task,
        "input_shape": list(ds.input_shape),
        "classes": list(ds.classes or []),
        "feature_names": list(ds.feature_names) if ds.feature_names else None,
        "target": run.config.target,
        "dtype": str(run.splits.X_train.dtype),
        "standardize": scaler.to_dict() if scaler is not None else None,
        "data": run.dataset.name,
    }


class RunRecorder(Callback):
    """A training callback that keeps the run directory current as the run progresses."""

    def __init__(self, run_dir: str | Path, extra_config: dict[str, Any] | None = None):
        self.dir = Path(run_dir)
        self.extra = extra_config or {}
        self.rows: list[dict[str, Any]] = []
        self.started = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.run = None
        self.lock = RunLock(self.dir)
        self.ended = False

    def on_train_begin(self, run) -> None:
        self.run = run
        self.lock.acquire()
        cfg = run.config.to_dict()
        doc = {
            "run_id": self.dir.name,
            "config": cfg,
            "layers": run.model.layer_config(),
            "summary": run.model.summary(),
            "params": run.model.n_params,
            "data": {
                "name": run.dataset.name,
                "task": run.dataset.task,
                "input_shape": list(run.dataset.input_shape),
                "classes": list(run.dataset.classes or []),
                "n_train": len(run.splits.X_train),
                "n_val": len(run.splits.X_val),
                "n_test": len(run.splits.X_test),
                "dtype": str(run.splits.X_train.dtype),  # what the core trains on
                "source_dtype": getattr(run.dataset, "source_dtype", None),  # what the file held
                "sha256_train": data_hash(run.splits.X_train, run.splits.y_train),
            },
            "provenance": provenance(),
        }
        doc.update(self.extra)
        write_json(self.dir / "config.json", doc)
        write_json(self.dir / PREPROCESSING, preprocessing(run))
        self._write_metrics({"status": "running", "params": run.model.n_params, "started": self.started})

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        write_csv(self.dir / "curve.csv", self.rows, CURVE_COLUMNS)
        diagnostics = getattr(self.run, "diagnostics", None)
        if diagnostics is not None:
            write_csv(self.dir / "diagnostics.csv", diagnostics.rows, DIAGNOSTICS_COLUMNS)

    def on_train_end(self, result) -> None:
        run = self.run
        write_weights(self.dir / "weights.npz", run.model.state_dict())
        metrics: dict[str, Any] = {
            "status": result.status,
            "stop_reason": result.stop_reason,
            "epochs_run": result.epochs_run,
            "steps": result.steps,
            "best_epoch": result.best_epoch,
            "monitor": result.monitor,
        }
        for key in ("val_loss", "val_acc", "val_mae"):
            if key in result.best:
                metrics[f"best_{key}"] = result.best[key]
        metrics.update(result.final)
        diagnostics = getattr(run, "diagnostics", None)
        warnings = list(result.warnings) + (diagnostics.summary() if diagnostics is not None else [])
        metrics["warnings"] = " | ".join(dict.fromkeys(warnings))
        metrics.update(
            {
                "params": run.model.n_params,
                "restored_best": result.restored_best,
                "wall_seconds": result.seconds,
                "train_seconds": result.train_seconds,
                "samples_per_second_mean": result.samples_per_second,
                "started": self.started,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
        )
        if result.pruned_epoch is not None:
            metrics.update(pruned_epoch=result.pruned_epoch, audited=result.audited)
        self._write_metrics(metrics)
        self.ended = True
        self.lock.release()

    def abort(self, status: str, reason: str) -> None:
        """Record that the run stopped early (``failed`` or ``interrupted``), where that can still be
        written; a run whose end was already recorded is left as it is, and a run directory in which
        training never began (an error before the first epoch) is removed."""
        if self.run is None:
            self.lock.release()
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        if self.ended:
            self.lock.release()
            return
        self.ended = True
        try:
            self._write_metrics(
                {
                    "status": status,
                    "stop_reason": one_line(reason),
                    "epochs_run": max(len(self.rows) - 1, 0),
                    "params": self.run.model.n_params,
                    "started": self.started,
                    "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                }
            )
        except NnctlError:  # the disk that failed the run may refuse this too: metrics.csv says running
            pass
        finally:
            self.lock.release()

    def _write_metrics(self, metrics: dict[str, Any]) -> None:
        write_csv(self.dir / "metrics.csv", [metrics], METRICS_COLUMNS)


@dataclass
class RunRecord:
    """A run read back from disk."""

    path: Path
    config: dict[str, Any]
    curve: pd.DataFrame
    metrics: dict[str, Any]

    @property
    def run_id(self) -> str:
        return self.path.name
