"""``nnctl train``: compose a run from flags, train it, write its results directory."""

from __future__ import annotations

from typing import Any

import typer

from ..results import RunRecorder, make_run_dir
from ..training import fit, prepare
from ..training.config import RunConfig
from . import render
from .app import app
from .options import run_options


@app.command("train")
@run_options
def train_command(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the results path."),
    run_flags: dict[str, Any] | None = None,
) -> None:
    """Train one model and write config.json, curve.csv, metrics.csv and weights.npz to results/<run-id>/."""
    cfg = RunConfig.from_dict(run_flags or {})
    run = prepare(cfg)  # every configuration error surfaces here, before anything is written
    out = render.console()
    if not quiet:
        out.print(render.layer_table(run.model.summary(), run.dataset.input_shape, run.model.n_params))
    run_dir = make_run_dir(cfg.results_dir, cfg.name)
    recorder = RunRecorder(run_dir)
    progress = render.ProgressReporter(cfg.epochs, quiet=quiet, out=out)
    result = fit(run, [recorder, progress])
    metrics = dict(result.final)
    if quiet:
        out.print(str(run_dir))
    else:
        out.print(render.result_table(str(run_dir), result, metrics))
    for warning in result.warnings:
        render.console(stderr=True).print(f"warning: {warning}", markup=False)
    if result.status == "diverged":
        render.console(stderr=True).print(f"diverged: {result.stop_reason}")
        raise typer.Exit(1)
    if result.status == "interrupted":
        raise typer.Exit(130)

