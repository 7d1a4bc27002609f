"""``nnctl experiment``: run the lecture notes' claims as checkable experiments."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..core.errors import ConfigError, DataError
from ..experiments.runner import run_experiment
from ..experiments.spec import list_experiments, read_experiment
from ..results.experiments import write_report
from ..results.store import sanitize_name
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
    folder = results_dir / ((sanitize_name(exp.name) or "experiment") + ("-fast" if fast else ""))
    if folder.is_symlink():
        raise ConfigError(f"'{folder}' is a symbolic link; an experiment's folder must be a directory inside --results-dir")
    out = render.console()
    out.print(f"[bold]{escape(exp.claim)}[/bold]\n{escape(exp.hypothesis)}")
    outcome = run_experiment(exp, make_executor(executor, workers=workers, scheduler=scheduler),
                             results_dir=folder, fast=fast)
    groups: dict[str, list] = defaultdict(list)
    axes = [k for k in exp.sweeps(fast)["main" if "main" in outcome.sweeps else next(iter(outcome.sweeps))][1].get("params", {})]
    for trial in outcome.trials:
        label = ",".join(f"{k}={trial.options.get(k)}" for k in axes) or trial.options["sweep"]
        if len(outcome.sweeps) > 1:
            label = f"{trial.options['sweep']}: {label}"
        groups[label].append(trial)
    report = write_report(folder, outcome, list(groups.items()))
    table = Table(show_edge=False)
    table.add_column("term")
    table.add_column("value", justify="right")
    table.add_column("n", justify="right")
    for term in outcome.terms:
        table.add_row(escape(term.selector.text()), render.fmt(term.value), str(len(term.values) or "-"))
    out.print(table)
    effect = "" if outcome.effect is None else f"  (effect {render.fmt(outcome.effect)})"
    style = "green" if outcome.supported else "red"
    out.print(f"[bold {style}]{outcome.verdict}[/bold {style}]: {escape(exp.expect.text)}{effect}")
    out.print(f"report: {report}")
