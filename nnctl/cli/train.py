"""``nnctl train``: compose a run from flags, train it, write its results directory."""

from __future__ import annotations

from typing import Any, Optional

import typer

from ..training import interrupts
from ..training.config import RunConfig
from ..training.sanity import overfit_batch
from ..workflows import train_run, with_threads
from . import render
from .options import run_options
from .progress import ProgressReporter


@run_options
def train_command(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the results path."),
    overfit: Optional[int] = typer.Option(
        None,
        "--overfit-batch",
        metavar="N",
        help="Sanity check instead of a run: train on N fixed training samples without regularization until "
        "100% training accuracy; exit 1 if not reached within --overfit-steps.",
    ),
    overfit_steps: int = typer.Option(500, "--overfit-steps", metavar="N", help="Step limit of --overfit-batch."),
    run_flags: dict[str, Any] | None = None,
) -> None:
    """Train one model and write config.json, curve.csv, metrics.csv and weights.npz to results/<run-id>/."""
    cfg = RunConfig.from_dict(run_flags or {})
    out, err = render.console(), render.console(stderr=True)
    if overfit is not None:
        check = overfit_batch(with_threads(cfg), overfit, overfit_steps)
        (out if check.success else err).print(check.message(), markup=False)
        if not check.success:
            raise typer.Exit(1)
        return

    def lr_found(test, lr: float) -> None:
        if not quiet:
            suggestions = ", ".join(f"{name} {value:.3g}" for name, value in test.suggestions.items())
            out.print(f"lr auto: range test suggests {suggestions}; using {lr:g}", markup=False)

    progress = ProgressReporter(cfg.epochs, quiet=quiet, out=out)
    done = train_run(cfg, given=run_flags, callbacks=[progress], on_lr_found=lr_found)
    result = done.result
    if quiet:
        out.print(str(done.run_dir))
    else:
        out.print(render.result_table(str(done.run_dir), result, dict(result.final)))
    for warning in result.warnings:
        err.print(f"warning: {warning}", markup=False)
    if result.status == "diverged":
        err.print(f"diverged: {result.stop_reason}", markup=False)
        raise typer.Exit(1)
    if result.status == "interrupted":
        raise typer.Exit(interrupts.exit_code())
