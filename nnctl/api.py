"""The Python API, for notebooks: the same runs as the CLI, with results as pandas DataFrames.

    import nnctl

    run = nnctl.train(model="mlp:128,64", epochs=10, lr=0.01)   # the options of `nnctl train`
    run.curve                      # one row per epoch (curve.csv)
    run.metrics                    # one row: status, best epoch, the returned model's metrics
    run.predict(X)                 # class probabilities (regression: values) for raw inputs
    nnctl.runs("results")          # one row per run or trial: what compare-runs shows
    nnctl.load_run(run.dir)        # a finished run, model included
    nnctl.sweep({"lr": [0.1, 0.01]}, model="mlp:32", epochs=5)   # a grid sweep; its sweep.csv

Options have the names of the flags and config files (``batch_size``, ``early_stopping``, ...)
and are checked the same way; ``results_dir=None`` trains without writing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from .core.model import Model


@dataclass
class Run:
    """A run: its directory (None when nothing was written), resolved configuration, learning
    curve and metrics as DataFrames, and the model with the weights it returned."""

    dir: Path | None
    config: dict[str, Any]
    curve: pd.DataFrame
    metrics: pd.DataFrame
    model: Model
    _applied: Any = None  # the loaded run, for predict (preprocessing included)

    @property
    def status(self) -> str:
        return str(self.metrics["status"].iloc[0]) if len(self.metrics) else "unknown"

    @property
    def classes(self) -> list[str]:
        """The class names: column i of :meth:`predict` is the probability of ``classes[i]``."""
        return list(self._applied.classes)

    def predict_labels(self, X: np.ndarray) -> list[str]:
        """The predicted class name of each row of raw inputs ``X`` (classification runs)."""
        return [self.classes[int(i)] for i in np.argmax(self.predict(X), axis=1)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (regression: predicted values) for raw inputs ``X``, preprocessed
        as the run's training data was."""
        trained = self._applied
        return np.asarray(trained.loss.output(trained.logits(X)))


def train(*, results_dir: str | Path | None = "results", **options: Any) -> Run:
    """Train one run with the options of ``nnctl train`` (as keyword arguments) and return it.

    It writes the same run directory as the CLI under ``results_dir``; ``results_dir=None`` trains
    in memory and writes nothing.
    """
    import pandas as pd

    from .training.config import RunConfig
    from .workflows import train_run, with_threads

    if results_dir is None:
        return _train_in_memory(with_threads(RunConfig.from_dict(options)))
    cfg = RunConfig.from_dict({**options, "results_dir": str(results_dir)})
    done = train_run(cfg, given=dict(options))
    run = load_run(done.run_dir)
    run.curve = pd.DataFrame(done.result.curve) if run.curve.empty else run.curve
    return run


def _train_in_memory(cfg) -> Run:
    import pandas as pd

    from .results.trained import TrainedRun
    from .training import fit, prepare

    prepared = prepare(cfg)
    result = fit(prepared)
    metrics = {
        "status": result.status,
        "stop_reason": result.stop_reason,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "monitor": result.monitor,
        **result.final,
    }
    trained = TrainedRun(
        path=Path("."),
        config=prepared.config.to_dict(),
        model=prepared.model,
        loss=prepared.loss,
        task=prepared.dataset.task,
        input_shape=prepared.dataset.input_shape,
        classes=list(prepared.dataset.classes or []),
        feature_names=prepared.dataset.feature_names,
        target=cfg.target,
        standardizer=prepared.splits.standardizer,
    )
    return Run(
        None, prepared.config.to_dict(), pd.DataFrame(result.curve), pd.DataFrame([metrics]), prepared.model, trained
    )


def load_run(path: str | Path) -> Run:
    """A finished run directory as a :class:`Run` (its model loaded with the returned weights)."""
    import pandas as pd

    from .results.artifacts import load_run as read_run
    from .results.trained import load_trained

    record = read_run(path)
    trained = load_trained(path)
    metrics = pd.DataFrame([record.metrics]) if record.metrics else pd.DataFrame()
    return Run(Path(path), trained.config, record.curve, metrics, trained.model, trained)


def runs(
    results_dir: str | Path = "results", *items: str, metric: str | None = None, all_options: bool = False
) -> pd.DataFrame:
    """One row per run or sweep trial under ``results_dir`` (or the ``items`` given: run ids, run or
    sweep directories, sweep names, globs): the options that differ (every option with
    ``all_options``, for filtering), status, best and final metrics — the table ``nnctl
    compare-runs`` shows, unformatted. A run whose files do not form a whole run is left out with a
    warning (``warnings.warn``) naming it and why."""
    import warnings

    from .results import compare

    records, skipped = compare.read_runs(compare.resolve_runs(list(items) or [str(results_dir)], results_dir))
    for path, why in skipped:
        warnings.warn(f"skipped '{path}': {why}", stacklevel=2)
    frame, _ = compare.runs_table(records, metric, all_options=all_options)
    return frame


def sweep(
    params: dict[str, Any],
    *,
    kind: str = "grid",
    repeats: int = 1,
    trials: int | None = None,
    sweep_seed: int = 0,
    workers: int | None = None,
    name: str = "",
    **options: Any,
) -> pd.DataFrame:
    """Run a sweep over ``params`` (axis → list of values, or a distribution string such as
    ``"loguniform:1e-4:1e-1"`` for ``kind="random"``) on top of the run ``options``; returns its
    sweep.csv as a DataFrame, with the sweep directory in ``frame.attrs["path"]``."""
    from .results.sweeps import read_sweep_csv
    from .search import LocalExecutor, build_space, run_sweep

    spec: dict[str, Any] = {"name": name, "base": options, "params": params, "repeats": repeats}
    if kind == "random":
        spec.update(trials=trials if trials is not None else 10, sweep_seed=sweep_seed)
    state = run_sweep(build_space(kind, spec), LocalExecutor(workers))
    if state.interrupted:
        raise KeyboardInterrupt
    frame = read_sweep_csv(state.path)
    frame.attrs["path"] = state.path
    return frame
