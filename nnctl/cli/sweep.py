"""``nnctl sweep grid|random|resume``: hyperparameter sweeps, locally or on a Dask cluster."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import typer
from rich.table import Table

from ..core.errors import ConfigError
from ..results.formatting import number, value_label
from ..results.sweeps import FAILED, FINISHED, PRUNED, TRIALS, WORKER_DIED, leaderboard, read_sweep_csv
from ..search import (
    build_space,
    check_trials,
    make_executor,
    merge_specs,
    parse_param,
    plan,
    read_spec_file,
    run_sweep,
    space_of,
)
from ..search.describe import describe, sampling_note
from ..search.identity import sweep_id
from ..search.specfile import SPEC_KEYS
from ..search.sweep import SweepCallback, audit_line
from ..training import interrupts
from . import render
from .help import NnctlCommand
from .options import run_options
from .progress import SweepProgress

sweep_app = typer.Typer(
    name="sweep",
    help="Hyperparameter sweeps: grid or random search over run options, parallel and resumable.",
    no_args_is_help=True,
)

S = "Sweep"
_SPEC = typer.Argument(
    None,
    help="TOML spec file: tables base and params; "
    + ", ".join(k for k in SPEC_KEYS if k not in ("base", "params"))
    + ". Flags override it.",
    show_default=False,
)
_PARAM = typer.Option(
    None,
    "--param",
    "-p",
    metavar="KEY=VALUES",
    help="Axis KEY=VALUES, e.g. lr=0.1,0.01 or init=zeros,he_normal; ';' separates values containing commas "
    '("model=mlp:64;mlp:128,64"). Repeatable.',
    rich_help_panel=S,
    show_default=False,
)
_ZIP = typer.Option(
    None,
    "--zip",
    metavar="AXES",
    help="Walk these axes together, e.g. lr,batch_size (equal lengths). Repeatable.",
    rich_help_panel=S,
    show_default=False,
)
_REPEATS = typer.Option(
    None,
    "--repeats",
    metavar="K",
    help="Run every point with K seeds: seed, seed+1, ... (mean ± std).",
    rich_help_panel=S,
    show_default="1",
)
WORKERS_OPTION = typer.Option(
    None,
    "--workers",
    "-w",
    metavar="N",
    help="Local worker processes.",
    rich_help_panel=S,
    show_default="number of cores",
)
EXECUTOR_OPTION = typer.Option(
    "local",
    "--executor",
    metavar="local|dask",
    help="local (worker processes) or dask (needs --scheduler).",
    rich_help_panel=S,
)
SCHEDULER_OPTION = typer.Option(
    None,
    "--scheduler",
    metavar="ADDRESS",
    help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.",
    rich_help_panel=S,
    show_default=False,
)
WORKER_TIMEOUT_OPTION = typer.Option(
    None,
    "--worker-timeout",
    metavar="SECONDS",
    help="With --executor dask: how long to wait while no worker is connected; then the sweep stops "
    "(finished trials kept, resumable).",
    rich_help_panel=S,
    show_default="600",
)
_RETRY = typer.Option(
    False, "--retry-failed", help="Rerun trials that failed (raised an error) in an earlier run.", rich_help_panel=S
)
_DRY = typer.Option(
    False, "--dry-run", help="Print the trials and the sweep directory; run nothing.", rich_help_panel=S
)
_QUIET = typer.Option(False, "--quiet", "-q", help="Print only the sweep directory.", rich_help_panel=S)
_TOP = typer.Option(10, "--top", metavar="N", help="Rows of the leaderboard.", rich_help_panel=S)
_PRUNE = typer.Option(
    None,
    "--prune",
    metavar="PRUNER",
    help="Stop bad trials early at rung epochs, judged on --monitor: asha, halving or hyperband, e.g. "
    "asha:min_epochs=2,factor=3 (see 'nnctl list pruners'). Needs a validation split.",
    rich_help_panel=S,
    show_default=False,
)
_AUDIT = typer.Option(
    None,
    "--audit",
    metavar="F",
    help="Train a seeded fraction F of the pruned trials to the end anyway, and report how many of them "
    "beat the best unpruned trial (the pruner's error rate).",
    rich_help_panel=S,
    show_default=False,
)
_TRIALS = typer.Option(
    None,
    "--trials",
    "-n",
    metavar="N",
    help="Points to draw (a discrete space: at most all, none twice).",
    rich_help_panel=S,
    show_default=False,
)
_SWEEP_SEED = typer.Option(
    None,
    "--sweep-seed",
    metavar="SEED",
    help="Seed of the draws (separate from --seed, which seeds each run).",
    rich_help_panel=S,
    show_default="0",
)


@sweep_app.command("grid", cls=NnctlCommand)
@run_options
def grid_command(
    spec: Optional[Path] = _SPEC,
    param: Optional[list[str]] = _PARAM,
    zip_: Optional[list[str]] = _ZIP,
    repeats: Optional[int] = _REPEATS,
    workers: Optional[int] = WORKERS_OPTION,
    executor: str = EXECUTOR_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    worker_timeout: Optional[float] = WORKER_TIMEOUT_OPTION,
    retry_failed: bool = _RETRY,
    prune: Optional[str] = _PRUNE,
    audit: Optional[float] = _AUDIT,
    dry_run: bool = _DRY,
    quiet: bool = _QUIET,
    top: int = _TOP,
    run_flags: dict[str, Any] | None = None,
) -> None:
    """Grid search: every combination of the --param values (times --repeats seeds)."""
    flags = _flag_spec(run_flags, param, zip_, repeats, prune, audit)
    _sweep("grid", spec, flags, workers, executor, scheduler, worker_timeout, retry_failed, dry_run, quiet, top)


def _drawn_command(kind: str):
    """The command of a sweep whose points are drawn (random) or proposed (tpe): the same flags."""

    def command(
        spec: Optional[Path] = _SPEC,
        param: Optional[list[str]] = _PARAM,
        zip_: Optional[list[str]] = _ZIP,
        trials: Optional[int] = _TRIALS,
        sweep_seed: Optional[int] = _SWEEP_SEED,
        repeats: Optional[int] = _REPEATS,
        workers: Optional[int] = WORKERS_OPTION,
        executor: str = EXECUTOR_OPTION,
        scheduler: Optional[str] = SCHEDULER_OPTION,
        worker_timeout: Optional[float] = WORKER_TIMEOUT_OPTION,
        retry_failed: bool = _RETRY,
        prune: Optional[str] = _PRUNE,
        audit: Optional[float] = _AUDIT,
        dry_run: bool = _DRY,
        quiet: bool = _QUIET,
        top: int = _TOP,
        run_flags: dict[str, Any] | None = None,
    ) -> None:
        flags = _flag_spec(run_flags, param, zip_, repeats, prune, audit)
        flags.update(trials=trials, sweep_seed=sweep_seed)
        _sweep(kind, spec, flags, workers, executor, scheduler, worker_timeout, retry_failed, dry_run, quiet, top)

    command.__name__ = f"{kind}_command"
    return run_options(command)


random_command = sweep_app.command(
    "random",
    cls=NnctlCommand,
    help="Random search: --trials points drawn from the axes: lists, choice:x,y, or ranges such as "
    "loguniform:1e-4:1e-1, uniform:0:0.5, int:16:128.",
)(_drawn_command("random"))
tpe_command = sweep_app.command(
    "tpe",
    cls=NnctlCommand,
    help="Model-based search (TPE, by Optuna: pip install 'nnctl[search]'): the first points at random, "
    "then each batch of points where the better ones so far lie. Same axes as random.",
)(_drawn_command("tpe"))


@sweep_app.command("resume", cls=NnctlCommand)
def resume_command(
    sweep: str = typer.Argument(..., help="Sweep directory, or sweep id inside --results-dir."),
    results_dir: Path = typer.Option(Path("results"), "--results-dir", help="Where to look for a sweep id."),
    workers: Optional[int] = WORKERS_OPTION,
    executor: str = EXECUTOR_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    worker_timeout: Optional[float] = WORKER_TIMEOUT_OPTION,
    retry_failed: bool = _RETRY,
    quiet: bool = _QUIET,
    top: int = _TOP,
) -> None:
    """Continue a sweep: finished trials are kept, unfinished ones run (failed ones with --retry-failed)."""
    space = space_of(sweep, results_dir)
    _execute(space, workers, executor, scheduler, worker_timeout, retry_failed, quiet, top)


# --- shared --------------------------------------------------------------------------------------------


def _flag_spec(run_flags, params, zips, repeats, prune=None, audit=None) -> dict[str, Any]:
    base = dict(run_flags or {})
    axes: dict[str, Any] = {}
    for text in params or []:
        key, values = parse_param(text)
        key = key.replace("-", "_")
        if key in axes:
            raise ConfigError(f"--param {key} is given twice; give each axis once")
        axes[key] = values
    return {
        "name": base.pop("name", None),
        "base": base,
        "params": axes,
        "zip": list(zips or []),
        "repeats": repeats,
        "prune": prune,
        "audit": audit,
    }


def _sweep(
    kind, spec_file, flags, workers, executor, scheduler, worker_timeout, retry_failed, dry_run, quiet, top
) -> None:
    raw = merge_specs(read_spec_file(spec_file) if spec_file is not None else {}, flags)
    space = build_space(kind, raw)
    if dry_run and space.kind == "tpe":
        out = render.console()
        out.print(describe(space))
        seeds = f"{space.repeats} seed{'s' if space.repeats != 1 else ''}"
        out.print(f"{space.trials} points × {seeds}, proposed while the sweep runs")
        out.print(f"sweep: {Path(space.base_config().results_dir) / sweep_id(space)}")
        return
    if dry_run:
        sid, trials = plan(space)
        check_trials(space, trials)
        out = render.console()
        out.print(_trials_table(space, trials))
        out.print(describe(space))
        note = sampling_note(space)
        if note:
            out.print(f"note: {note}")
        out.print(f"sweep: {Path(space.base_config().results_dir) / sid}")
        return
    _execute(space, workers, executor, scheduler, worker_timeout, retry_failed, quiet, top)


def executor_from_flags(executor: str, workers, scheduler, worker_timeout):
    """The executor ``--executor``, ``-w``, ``--scheduler`` and ``--worker-timeout`` name; a Dask
    executor's notices (waiting for workers, workers back) go to stderr."""
    err = render.console(stderr=True)
    notify = lambda message: err.print(message, markup=False, highlight=False)  # noqa: E731
    return make_executor(executor, workers=workers, scheduler=scheduler, worker_timeout=worker_timeout, notify=notify)


def _execute(space, workers, executor, scheduler, worker_timeout, retry_failed, quiet, top) -> None:
    out, err = render.console(), render.console(stderr=True)
    runner = executor_from_flags(executor, workers, scheduler, worker_timeout)
    note = sampling_note(space)
    if note and not quiet:
        err.print(f"note: {note}")
    callbacks = [_DamagedTrials(err), SweepProgress(out, quiet)]
    state = run_sweep(space, runner, retry_failed=retry_failed, callbacks=callbacks)
    if quiet:
        out.print(str(state.path))
    else:
        board = leaderboard(read_sweep_csv(state.path), state.axes, state.monitor, top)
        if len(board):
            out.print(_leaderboard_table(board, state))
        counts = [f"{state.count(*FINISHED)} finished", f"{state.count(FAILED)} failed"]
        if state.space.prune:
            counts.insert(1, f"{state.count(PRUNED)} of them pruned")
        if state.count(WORKER_DIED):
            counts.append(f"{state.count(WORKER_DIED)} lost their worker")
        if state.interrupted:
            counts.append(f"{state.count('interrupted', 'pending')} not run")
        if state.skipped:
            counts.append(f"{state.skipped} from earlier runs")
        out.print(f"sweep: {state.path}  ({', '.join(counts)})")
        if state.space.audit:
            out.print(audit_line(state), markup=False)
    if state.interrupted:
        err.print(f"interrupted: resume with 'nnctl sweep resume {state.path}'")
        raise typer.Exit(interrupts.exit_code())
    failed, died = state.count(FAILED), state.count(WORKER_DIED)
    if failed:
        err.print(
            f"{failed} trial{'s' if failed > 1 else ''} failed (see the error column of {state.path / 'sweep.csv'}); "
            "rerun with --retry-failed"
        )
    if died:
        err.print(
            f"{died} trial{'s' if died > 1 else ''} did not finish: the worker process running "
            f"{'them' if died > 1 else 'it'} died (see the error column of {state.path / 'sweep.csv'}); "
            f"run {'them' if died > 1 else 'it'} again with 'nnctl sweep resume {state.path}'"
        )
    if failed or died:
        raise typer.Exit(1)


class _DamagedTrials(SweepCallback):
    """Names each trial whose directory did not hold a whole run, and so runs again (quiet or not)."""

    def __init__(self, err):
        self.err = err

    def on_sweep_begin(self, state) -> None:
        for trial_id, why in state.damaged.items():
            self.err.print(f"warning: running trial '{state.path / TRIALS / trial_id}' again: {why}", markup=False)


def _trials_table(space, trials) -> Table:
    table = Table(title=f"{len(trials)} trials", title_justify="left", show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("trial")
    axes = list(space.params) + (["seed"] if space.repeats > 1 else [])
    for axis in axes:
        table.add_column(axis, overflow="fold")
    for i, trial in enumerate(trials, 1):
        table.add_row(str(i), trial.trial_id, *(value_label(trial.params.get(a)) for a in axes))
    return table


def _leaderboard_table(board, state) -> Table:
    metric, test = board.attrs["metric"], board.attrs["test"]
    seeds = board["n"].max() > 1
    title = f"Best by {metric}" + (" (mean ± std over seeds)" if seeds else "")
    table = Table(title=title, title_justify="left", show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("trial", no_wrap=True)
    for axis in state.axes:
        if axis != "seed":
            table.add_column(axis, overflow="fold")  # a value wraps rather than losing its end
    table.add_column(metric, no_wrap=True)
    if seeds:
        table.add_column("n", justify="right")
    if test:
        table.add_column(test, justify="right")
    table.add_column("s", justify="right")
    for rank, (_, row) in enumerate(board.iterrows(), 1):
        score = number(float(row["score_mean"]))
        if seeds and not math.isnan(row["score_std"]):
            score += f" ± {number(float(row['score_std']))}"
        cells = [str(rank), row["trial_id"], *(value_label(row[a]) for a in state.axes if a != "seed"), score]
        if seeds:
            cells.append(str(int(row["n"])))
        if test:
            cells.append(number(float(row[f"{test}_mean"])))
        cells.append(f"{row['seconds']:.1f}" if "seconds" in row else "-")
        table.add_row(*cells)
    return table
