"""``nnctl lr-find``: the learning-rate range test; writes lr_find.csv, lr_find.json and lr_find.png."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table

from ..training.config import RunConfig
from ..training.lr_find import END, ITERS, RECOMMENDED, START, SUGGESTIONS
from ..workflows import lr_find_run
from . import render
from .options import run_options
from .progress import LrFindProgress


@run_options
def lr_find_command(
    start: float = typer.Option(START, "--start", metavar="LR", help="First learning rate of the sweep."),
    end: float = typer.Option(END, "--end", metavar="LR", help="Last learning rate (approached, never exceeded)."),
    iters: int = typer.Option(
        ITERS, "--iters", metavar="N", help="Minibatch steps; lr grows by (end/start)^(1/iters) each step."
    ),
    repeats: int = typer.Option(
        1, "--repeats", help="Run the test for this many seeds (seed, seed+1, ...) and report the spread."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the recommended rate."),
    run_flags: dict[str, Any] | None = None,
) -> None:
    """Range test (Smith 2015, fastai's lr_find): train briefly while the rate grows exponentially, suggest a rate.

    The model's weights and optimizer state are restored afterwards; nothing is trained for later.
    """
    cfg = RunConfig.from_dict(run_flags or {})
    out = render.console()
    progress = LrFindProgress(iters, repeats, quiet=quiet, out=out)
    try:
        done = lr_find_run(cfg, repeats, start=start, end=end, iters=iters, on_step=progress)
    finally:
        progress.stop()
    tests, stats, lr, run_dir = done.tests, done.stats, done.lr, done.run_dir
    if quiet:
        out.print(f"{lr:g}")
        return
    out.print(suggestion_table(tests, stats))
    for t in tests:
        out.print(f"seed {t.seed}: {t.steps} steps; {t.stop_reason}")
    out.print(f"recommended: {RECOMMENDED} → --lr {lr:g}")
    out.print(f"why: {done.why}")
    out.print(f"results: {run_dir} (lr_find.csv, lr_find.json, lr_find.png)")


def suggestion_table(tests, stats) -> Table:
    many = len(tests) > 1
    table = Table(
        title="Suggested learning rates" + (f" over {len(tests)} seeds" if many else ""),
        title_justify="left",
        show_edge=False,
    )
    table.add_column("suggestion")
    table.add_column("lr" if not many else "geometric mean ×/÷ factor", justify="right")
    if many:
        for col in ("min", "median", "max"):
            table.add_column(col, justify="right")
    table.add_column("rule")
    rules = {
        "valley": "half-way down the longest descent (fastai's default)",
        "steep": "steepest descent of loss vs log(lr)",
        "minimum": "lowest loss ÷ 10",
    }
    for name in SUGGESTIONS:
        s = stats[name]
        label = f"[bold]{name} (recommended)[/bold]" if name == RECOMMENDED else name
        cells = [f"{s['geomean']:.3g} ×/÷ {s['factor']:.2f}" if many else f"{s['geomean']:.3g}"]
        if many:
            cells += [f"{s['min']:.3g}", f"{s['median']:.3g}", f"{s['max']:.3g}"]
        table.add_row(label, *cells, rules[name])
    return table
