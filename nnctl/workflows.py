"""What ``nnctl train`` and ``nnctl lr-find`` do, as library calls the CLI and the Python API share.

:func:`train_run` composes a run from its configuration, finds its learning rate first when
``lr=auto``, trains it and records it in a new run directory; :func:`lr_find_run` runs the
learning-rate range test and records it. Both print nothing: progress reaches the caller through
training callbacks, and errors are the library's typed errors. A run that stops on an error or
Ctrl-C outside the epoch loop still says so in its ``metrics.csv`` (``failed``/``interrupted``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .results import RunRecorder, make_run_dir, write_csv
from .results.store import check_results_dir
from .training import fit, interrupts, prepare
from .training.callbacks import Callback
from .training.config import RunConfig
from .training.loop import FitResult
from .training.lr_find import (
    BETA,
    END,
    ITERS,
    RECOMMENDED,
    START,
    STOP_FACTOR,
    RangeTest,
    auto_lr,
    find_lr,
    summary,
    why_recommended,
)
from .training.setup import Prepared
from .training.threads import available_cores


@dataclass
class TrainOutcome:
    """A trained and recorded run: where it is, the run itself (model included), what training gave."""

    run_dir: Path
    run: Prepared
    result: FitResult
    lr_test: RangeTest | None = None


@dataclass
class LrFindOutcome:
    """A recorded range test: its directory, each seed's test, the spread, the recommended rate."""

    run_dir: Path
    tests: list[RangeTest]
    stats: dict[str, dict[str, float]]
    lr: float
    why: str = field(default="")


def with_threads(cfg: RunConfig) -> RunConfig:
    """One run uses every core unless told otherwise; config.json records how many."""
    return cfg if cfg.threads is not None else cfg.replace(threads=available_cores())


def train_run(
    cfg: RunConfig,
    *,
    given: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    on_lr_found: Callable[[RangeTest, float], None] | None = None,
) -> TrainOutcome:
    """Train ``cfg`` and record it under ``cfg.results_dir``; ``given`` (the options the user set,
    as written) is kept in config.json, and ``on_lr_found`` hears the range test of ``lr=auto``."""
    cfg = with_threads(cfg)
    found = None
    if cfg.lr == "auto":  # range test on the prepared run (restored afterwards), then its recommended rate
        check_results_dir(cfg.results_dir)  # a results directory that cannot be written fails before the test
        run, found, lr = auto_lr(cfg)
        cfg = cfg.replace(lr=lr)
        if on_lr_found is not None:
            on_lr_found(found, lr)
    else:
        run = prepare(cfg)  # every configuration error surfaces here, before anything is written
    run_dir = make_run_dir(cfg.results_dir, cfg.name, need_bytes=weights_bytes(run))
    extra: dict[str, Any] = {"given": dict(given or {})}
    if found is not None:
        extra["lr_find"] = summary(found, cfg.lr)
    recorder = RunRecorder(run_dir, extra)
    try:
        if found is not None:
            write_csv(run_dir / "lr_find.csv", found.rows())
        result = fit(run, [recorder, *callbacks])
    except KeyboardInterrupt:  # outside the epoch loop (which records it itself)
        recorder.abort("interrupted", f"interrupted by {interrupts.reason()}")
        raise
    except BaseException as exc:  # a write that failed, a bug: the run says how it ended
        recorder.abort("failed", f"{type(exc).__name__}: {exc}")
        raise
    return TrainOutcome(run_dir, run, result, found)


def lr_find_run(
    cfg: RunConfig,
    repeats: int = 1,
    *,
    start: float = START,
    end: float = END,
    iters: int = ITERS,
    on_step: Callable[[int, int, float, float], None] | None = None,
) -> LrFindOutcome:
    """The range test for ``repeats`` seeds, recorded in a new directory under ``cfg.results_dir``;
    ``on_step(repeat, step, lr, smoothed_loss)`` follows it."""
    from .results.lr_find_dir import write_lr_find
    from .results.plots import require_matplotlib

    require_matplotlib()
    check_results_dir(cfg.results_dir)  # fail before the test when its results cannot be written
    tests, stats, lr = find_lr(cfg, repeats, on_step, start=start, end=end, iters=iters)
    run_dir = make_run_dir(cfg.results_dir, cfg.name or "lr-find")
    why = why_recommended(stats)
    settings = {
        "start": start,
        "end": end,
        "iters": iters,
        "repeats": repeats,
        "beta": BETA,
        "stop_factor": STOP_FACTOR,
    }
    write_lr_find(run_dir, tests, stats, lr, settings, RECOMMENDED, why)
    return LrFindOutcome(run_dir, tests, stats, lr, why)


def weights_bytes(run: Prepared) -> int:
    """About what weights.npz will take: the flat parameter buffer plus layer state (running
    averages), counted without copying anything."""
    model = run.model
    state = sum(int(b.nbytes) for layer in model.iter_layers() for b in getattr(layer, "buffers", dict)().values())
    return int(model.params.nbytes) + state


# --- applying a trained run to data ----------------------------------------------------------------


@dataclass
class Applied:
    """A trained run applied to data: what was read, the model's outputs, and the metrics when the
    data has targets."""

    trained: Any
    inputs: Any
    logits: Any
    metrics: dict[str, float] = field(default_factory=dict)
    confusion: list[list[int]] | None = None


def apply_run(run_dir: str | Path, data: str | None = None, split: str | None = None) -> Applied:
    """Load the run at ``run_dir`` and apply its model to ``data`` (a file, a dataset, or None for the
    run's own data: its test split unless ``split`` says otherwise)."""
    import numpy as np

    from .data.inputs import read_inputs
    from .results.trained import load_trained
    from .training.metrics import evaluate

    trained = load_trained(run_dir)
    inputs = read_inputs(data, trained.expected(), trained.config, split)
    X = trained.prepare(inputs.X)
    logits = trained.model.predict(X)
    applied = Applied(trained, inputs, logits)
    if inputs.y is not None and len(X):
        applied.metrics = evaluate(trained.model, trained.loss, X, inputs.y, task=trained.task)
        if trained.task == "classification":
            k = len(trained.classes)
            counts = np.zeros((k, k), dtype=np.int64)
            np.add.at(counts, (inputs.y, trained.loss.predict_labels(logits)), 1)
            applied.confusion = counts.tolist()
    return applied


def predictions_table(applied: Applied) -> list[dict[str, Any]]:
    """One row per sample: the prediction (a class name, or the predicted values), each class's
    probability, and the target when the data has one."""
    import numpy as np

    trained, logits = applied.trained, applied.logits
    rows: list[dict[str, Any]] = []
    if trained.task == "classification":
        labels = trained.loss.predict_labels(logits)
        probs = np.asarray(trained.loss.output(logits), dtype=np.float64)
        if probs.ndim == 1 or probs.shape[1] == 1:  # one logit: the probability of class 1
            p1 = probs.reshape(-1)
            probs = np.stack([1.0 - p1, p1], axis=1)
        for i, label in enumerate(labels):
            row = {"prediction": trained.classes[int(label)]}
            row.update({f"prob_{c}": float(p) for c, p in zip(trained.classes, probs[i])})
            if applied.inputs.y is not None:
                row["target"] = trained.classes[int(applied.inputs.y[i])]
            rows.append(row)
        return rows
    values = np.asarray(trained.loss.output(logits), dtype=np.float64).reshape(len(logits), -1)
    for i, v in enumerate(values):
        row = {"prediction": float(v[0])} if len(v) == 1 else {f"prediction_{j}": float(x) for j, x in enumerate(v)}
        if applied.inputs.y is not None:
            row["target"] = float(np.asarray(applied.inputs.y[i]).reshape(-1)[0])
        rows.append(row)
    return rows


def predict_run(
    run_dir: str | Path,
    data: str | None = None,
    *,
    split: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
) -> tuple[Path, Applied]:
    """Predict ``data`` with the run's model and write the predictions as CSV (default:
    ``<run>/predictions.csv``); returns where, and what was applied."""
    from .results.outputs import check_output
    from .results.store import write_csv

    path = check_output(out, "table", force=force) if out is not None else Path(run_dir) / "predictions.csv"
    applied = apply_run(run_dir, data, split)
    write_csv(path, predictions_table(applied), ["prediction"])
    return path, applied


def evaluate_run(
    run_dir: str | Path,
    data: str | None = None,
    *,
    split: str | None = None,
    out: str | Path | None = None,
    force: bool = False,
) -> tuple[Path, dict[str, Any]]:
    """The run's metrics on ``data`` (which must hold targets), with a confusion matrix for a
    classifier; written as JSON (default: ``<run>/evaluation.json``)."""
    from .core.errors import DataError
    from .results.outputs import check_output
    from .results.store import write_json

    path = check_output(out, "record", force=force) if out is not None else Path(run_dir) / "evaluation.json"
    applied = apply_run(run_dir, data, split)
    if applied.inputs.y is None:
        raise DataError(
            f"{applied.inputs.name} has no targets to evaluate against; use 'nnctl predict' for "
            "predictions only (a CSV needs the target column the run was trained on)"
        )
    record = {
        "written_by": "nnctl",
        "run": str(Path(run_dir)),
        "data": applied.inputs.name,
        "samples": len(applied.inputs.X),
        "metrics": applied.metrics,
        "classes": applied.trained.classes or None,
        "confusion_matrix": applied.confusion,  # rows: true class, columns: predicted class
    }
    write_json(path, record)
    return path, record
