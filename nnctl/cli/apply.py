"""``nnctl predict`` and ``nnctl evaluate``: apply a trained run's model to new data."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import render

_RUN = typer.Argument(..., help="A run directory or run id (looked up under --results-dir).")
_DATA = typer.Argument(
    None,
    help="A .csv/.npz/IDX file or a dataset spec (e.g. digits, mnist). [default: the run's own data, its test split]",
)
_SPLIT = typer.Option(
    None, "--split", metavar="train|val|test|all", help="One split of a dataset, split exactly as the run split it."
)
_DIR = typer.Option("results", "--results-dir", metavar="DIR", help="Where run ids are looked up.")
_FORCE = typer.Option(False, "--force", help="Replace --out even if nnctl did not write it.")


def _run_dir(run: str, results_dir: str) -> Path:
    from ..core.errors import DataError
    from ..results.compare import resolve_runs

    paths = resolve_runs([run], results_dir)
    if len(paths) != 1:
        raise DataError(f"'{run}' names {len(paths)} runs; name one run")
    return paths[0]


def predict_command(
    run: str = _RUN,
    data: Optional[str] = _DATA,
    split: Optional[str] = _SPLIT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", metavar="FILE.csv", help="Where the predictions go. [default: <run>/predictions.csv]"
    ),
    results_dir: str = _DIR,
    force: bool = _FORCE,
) -> None:
    """Write the model's predictions for DATA as CSV: the predicted class and each class's probability
    (regression: the predicted values), and the target when the data has one."""
    from ..workflows import predict_run

    path, applied = predict_run(_run_dir(run, results_dir), data, split=split, out=out, force=force)
    line = f"{len(applied.inputs.X)} predictions for {applied.inputs.name}"
    if "acc" in applied.metrics:
        line += f" (accuracy {applied.metrics['acc']:.4f})"
    render.console().print(f"{line}: {path}", markup=False)


def evaluate_command(
    run: str = _RUN,
    data: Optional[str] = _DATA,
    split: Optional[str] = _SPLIT,
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", metavar="FILE.json", help="Where the evaluation goes. [default: <run>/evaluation.json]"
    ),
    results_dir: str = _DIR,
    force: bool = _FORCE,
) -> None:
    """Print and write the model's loss and accuracy on DATA (regression: mse, mae, r2), with the
    confusion matrix of a classifier."""
    from ..workflows import evaluate_run

    path, record = evaluate_run(_run_dir(run, results_dir), data, split=split, out=out, force=force)
    out_ = render.console()
    out_.print(render.evaluation_table(record))
    out_.print(f"evaluation: {path}", markup=False)
