"""``nnctl experiment``: run the lecture notes' claims as checkable experiments."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ..core.errors import DataError
from ..experiments.spec import LIBRARY, USER_FOLDER, find_experiment, list_experiments
from ..results.formatting import number
from . import render
from .help import NnctlCommand
from .progress import SweepProgress
from .sweep import EXECUTOR_OPTION, SCHEDULER_OPTION, WORKER_TIMEOUT_OPTION, WORKERS_OPTION, executor_from_flags

experiment_app = typer.Typer(help="Run experiments that test claims from the lecture notes.", no_args_is_help=True)


@experiment_app.command("list", cls=NnctlCommand)
def list_command(
    folder: Optional[Path] = typer.Argument(
        None, help="A folder of experiment files. [default: ./experiments and the experiments that ship with nnctl]"
    ),
    details: bool = typer.Option(False, "--details", "-d", help="Also show each hypothesis and expectation."),
) -> None:
    """List the experiments, one line each: the name to run and the claim it tests."""
    if folder is not None and not folder.is_dir():
        raise DataError(f"experiment folder '{folder}' does not exist; pass a folder of experiment .toml files")
    folders = [folder] if folder is not None else [f for f in (USER_FOLDER, LIBRARY) if f.is_dir()]
    table = Table(show_edge=False, show_lines=details, box=None if not details else box.SIMPLE)
    table.add_column("experiment", style="bold", no_wrap=True)
    table.add_column("claim", overflow="fold")
    seen: set[str] = set()
    for where in folders:
        for exp in list_experiments(where):
            if exp.path.stem in seen:  # a file of yours of the same name comes first
                continue
            seen.add(exp.path.stem)
            name = exp.path.stem if where == LIBRARY or folder is None else str(exp.path)
            text = escape(exp.claim)
            if details:
                text += f"\n[dim]{escape(exp.hypothesis)}[/dim]\nexpect: {escape(exp.expect.text)}"
            table.add_row(name, text)
    render.console().print(table)
    if not details:
        render.console().print(
            "[dim]nnctl experiment run NAME [--fast]; --details shows hypotheses and expectations[/dim]"
        )


@experiment_app.command("run", cls=NnctlCommand)
def run_command(
    experiment: str = typer.Argument(..., help="An experiment's name (see 'nnctl experiment list') or file."),
    fast: bool = typer.Option(False, "--fast", help="The reduced version (fewer epochs and seeds)."),
    workers: Optional[int] = WORKERS_OPTION,
    executor: str = EXECUTOR_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    worker_timeout: Optional[float] = WORKER_TIMEOUT_OPTION,
    results_dir: Path = typer.Option(Path("results"), "--results-dir", help="Where the experiment's folder goes."),
) -> None:
    """Run the experiment's sweeps, check its expectation, print SUPPORTED / NOT SUPPORTED and write a report."""
    from ..experiments.runner import experiment_folder, run_experiment
    from ..results.experiments import write_report

    exp = find_experiment(experiment)
    folder = experiment_folder(results_dir, exp, fast)
    runner = executor_from_flags(executor, workers, scheduler, worker_timeout)  # bad flags: before any output
    out = render.console()
    out.print(f"[bold]{escape(exp.claim)}[/bold]\n{escape(exp.hypothesis)}")
    outcome = run_experiment(
        exp,
        runner,
        results_dir=folder,
        fast=fast,
        callbacks=[SweepProgress(out)],
    )
    report = write_report(folder, outcome, outcome.groups())
    styles = {"SUPPORTED": "green", "NOT SUPPORTED": "red"}
    for k, c in enumerate(outcome.judgement.comparisons, 1):
        p = "" if c.p != c.p else f", p = {c.p:.3g}"
        style = styles.get(c.verdict, "yellow")
        out.print(
            f"{k}. {escape(c.text)}\n   left {number(sum(c.left) / len(c.left))}, right "
            f"{number(sum(c.right) / len(c.right))}: effect {c.effect:+.4g} ± {number(c.noise)} "
            f"(n={c.n}{p}) → [{style}]{c.verdict}[/{style}]"
        )
    tests = sorted({c.test for c in outcome.judgement.comparisons})
    out.print(
        f"[dim]{outcome.seeds} seeds; ± noise: standard error of the effect; test: {escape('; '.join(tests))}; "
        "α = 0.05, one-sided[/dim]"
    )
    style = styles.get(outcome.verdict, "yellow")
    effect = "" if outcome.effect is None else f"  (effect {outcome.effect:+.4g})"
    out.print(f"[bold {style}]{outcome.verdict}[/bold {style}]: {escape(exp.expect.text)}{effect}")
    out.print(f"report: {report}")
