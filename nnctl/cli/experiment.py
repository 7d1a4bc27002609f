"""``nnctl experiment``: run the lecture notes' claims as checkable experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..core.errors import ConfigError, DataError
from ..experiments.runner import experiment_folder, run_experiment
from ..experiments.spec import list_experiments, read_experiment
from ..results.experiments import write_report
from ..search import make_executor
from . import render
from .app import app

experiment_app = typer.Typer(help="Run experiments that test claims from the lecture notes.", no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@experiment_app.command("list")
def list_command(folder: Path = typer.Argument(Path("experiments"), help="Folder of experiment files.")) -> None:
    """Show every experiment with its claim and hypothesis."""
    if not folder.is_dir():
        raise DataError(f"experiment folder '{folder}' does not exist; pass a folder of experiment .toml files")
    table = Table(show_edge=False, show_lines=True)
    table.add_column("file", style="bold", no_wrap=True)
    table.add_column("claim")
    table.add_column("expectation")
    for exp in list_experiments(folder):
        table.add_row(exp.path.name, f"{escape(exp.claim)}\n[dim]{escape(exp.hypothesis)}[/dim]", escape(exp.expect.text))
    render.console().print(table)


@experiment_app.command("run")
def run_command(
    file: Path = typer.Argument(..., help="An experiment file, e.g. experiments/zero_init_symmetry.toml."),
    fast: bool = typer.Option(False, "--fast", help="The reduced version (fewer epochs and seeds)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", min=1, help="Local worker processes. [default: cores]"),
    executor: str = typer.Option("local", "--executor", help="local or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (with --executor dask)."),
    results_dir: Path = typer.Option(Path("results"), "--results-dir", help="Where the experiment's folder goes."),
) -> None:
    """Run the experiment's sweeps, check its expectation, print SUPPORTED / NOT SUPPORTED and write a report."""
    exp = read_experiment(file)
    folder = experiment_folder(results_dir, exp, fast)
    out = render.console()
    out.print(f"[bold]{escape(exp.claim)}[/bold]\n{escape(exp.hypothesis)}")
    outcome = run_experiment(exp, make_executor(executor, workers=workers, scheduler=scheduler),
                             results_dir=folder, fast=fast)
    report = write_report(folder, outcome, outcome.groups())
    styles = {"SUPPORTED": "green", "NOT SUPPORTED": "red"}
    for k, c in enumerate(outcome.judgement.comparisons, 1):
        p = "" if c.p != c.p else f", p = {c.p:.3g}"
        style = styles.get(c.verdict, "yellow")
        out.print(f"{k}. {escape(c.text)}\n   left {render.fmt(sum(c.left) / len(c.left))}, right "
                  f"{render.fmt(sum(c.right) / len(c.right))}: effect {c.effect:+.4g} ± {render.fmt(c.noise)} "
                  f"(n={c.n}{p}) → [{style}]{c.verdict}[/{style}]")
    tests = sorted({c.test for c in outcome.judgement.comparisons})
    out.print(f"[dim]{outcome.seeds} seeds; ± noise: standard error of the effect; test: {escape('; '.join(tests))}; "
              "α = 0.05, one-sided[/dim]")
    style = styles.get(outcome.verdict, "yellow")
    effect = "" if outcome.effect is None else f"  (effect {outcome.effect:+.4g})"
    out.print(f"[bold {style}]{outcome.verdict}[/bold {style}]: {escape(exp.expect.text)}{effect}")
    out.print(f"report: {report}")
