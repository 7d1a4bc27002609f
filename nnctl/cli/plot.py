"""``nnctl plot``: one run's learning curves (loss and accuracy, training vs validation), or with
``--diagnostics`` its per-layer heatmaps, to PNG or SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..core.errors import DataError
from ..results.outputs import check_output
from . import render


def plot_command(
    run: str = typer.Argument(..., help="Run id (looked up under --results-dir) or run directory."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Picture to write (.png or .svg). [default: <run>/curves.png]"
    ),
    results_dir: str = typer.Option("results", "--results-dir", help="Where run ids are looked up."),
    force: bool = typer.Option(False, "--force", help="Replace --out even if it is not a file nnctl wrote."),
    diagnostics: bool = typer.Option(
        False,
        "--diagnostics",
        help="Draw the per-layer heatmaps of diagnostics.csv instead (gradient norm, activation std, dead and "
        "saturated units, update ratio). [default --out: <run>/diagnostics.png]",
    ),
) -> None:
    """Draw loss and accuracy per epoch, training dashed and validation solid, with the best epoch marked."""
    from ..results import load_run, plots
    from ..results.artifacts import read_diagnostics
    from ..results.compare import resolve_runs
    from ..results.curve_groups import describe_run
    from ..results.layer_stats import plot_diagnostics

    plots.require_matplotlib()
    if out is not None:
        check_output(out, "picture", force=force)
    paths = resolve_runs([run], results_dir)
    if len(paths) != 1:
        raise DataError(f"'{run}' names {len(paths)} runs; plot takes one (use compare-runs --plot for several)")
    record = load_run(paths[0])
    if diagnostics:
        frame, problems = read_diagnostics(paths[0])
        if frame.empty:
            why = problems[0] if problems else "no diagnostics.csv"
            raise DataError(f"run '{paths[0]}' has no diagnostics to draw ({why}); train it with --diagnostics")
        written = plot_diagnostics(
            frame, out if out is not None else paths[0] / "diagnostics.png", title=describe_run(record)
        )
        render.console().print(str(written))
        return
    written = plots.plot_curves(record, out if out is not None else paths[0] / "curves.png", title=describe_run(record))
    render.console().print(str(written))
