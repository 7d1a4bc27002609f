"""``nnctl plot``: one run's learning curves (loss and accuracy, training vs validation) to PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..core.errors import DataError
from ..results import load_run, plots
from ..results.compare import describe_run, resolve_runs
from ..results.outputs import check_output
from . import render


def plot_command(
    run: str = typer.Argument(..., help="Run id (looked up under --results-dir) or run directory."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Picture to write (.png or .svg). [default: <run>/curves.png]"
    ),
    results_dir: str = typer.Option("results", "--results-dir", help="Where run ids are looked up."),
    force: bool = typer.Option(False, "--force", help="Replace --out even if it is not a file nnctl wrote."),
) -> None:
    """Draw loss and accuracy per epoch, training dashed and validation solid, with the best epoch marked."""
    plots.require_matplotlib()
    if out is not None:
        check_output(out, "picture", force=force)
    paths = resolve_runs([run], results_dir)
    if len(paths) != 1:
        raise DataError(f"'{run}' names {len(paths)} runs; plot takes one (use compare-runs --plot for several)")
    record = load_run(paths[0])
    written = plots.plot_curves(record, out if out is not None else paths[0] / "curves.png", title=describe_run(record))
    render.console().print(str(written))
