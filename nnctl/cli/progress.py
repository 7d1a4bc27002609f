"""Progress on the terminal: a live bar when the output is a terminal, plain lines a program can
read otherwise, nothing but the result with --quiet. One class per kind of job: training epochs,
sweep trials, learning-rate range-test steps."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..results.formatting import number, value_label
from ..training.callbacks import Callback
from .render import console, epoch_line, layer_table


class ProgressReporter(Callback):
    """Training callback: a rich progress bar on a terminal, one plain line per epoch otherwise."""

    def __init__(self, epochs: int, quiet: bool = False, out: Console | None = None):
        self.epochs = epochs
        self.quiet = quiet
        self.console = out or console()
        self.live = self.console.is_terminal and not quiet
        self.progress: Progress | None = None
        self.task = None
        self.last = ""

    def on_train_begin(self, run) -> None:
        if not self.quiet:
            self.console.print(layer_table(run.model.summary(), run.dataset.input_shape, run.model.n_params))
        if self.live:
            self.progress = Progress(
                TextColumn("[bold]training"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("epochs"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.console,
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.epochs, status="")

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        line = epoch_line(row, self.epochs)
        if self.quiet:
            return
        if row["epoch"] == 0:
            self.started = time.perf_counter()
        if self.progress is not None:
            status = "  ".join(p for p in line.split("  ")[1:])
            self.progress.update(self.task, completed=row["epoch"], status=status)
        else:  # one line per epoch, kept: a log a program can read
            epoch = int(row["epoch"])
            self.console.print(
                line + (_eta(time.perf_counter() - self.started, epoch, self.epochs - epoch) if epoch else "")
            )

    def on_train_end(self, result) -> None:
        if self.progress is not None:
            self.progress.stop()


def _eta(elapsed: float, done: int, left: int) -> str:
    """``  eta 12.3s``: the time the ``left`` units will take at the pace of the ``done`` ones."""
    if done <= 0 or left <= 0:
        return ""
    return f"  eta {elapsed / done * left:.1f}s"


class SweepProgress:
    """A rich progress bar on a terminal (done/running/failed, best so far); one line per trial otherwise."""

    def __init__(self, out, quiet: bool = False):
        self.out = out
        self.quiet = quiet
        self.progress: Progress | None = None
        self.task = None
        self.epochs: dict[str, int] = {}  # running trial → its last reported epoch

    def on_sweep_begin(self, state) -> None:
        from ..results.sweeps import score_column
        from ..search.describe import describe

        self.started = time.perf_counter()
        self.skipped = state.skipped
        if self.quiet:
            return
        todo = state.total - state.skipped
        self.out.print(
            f"sweep {state.sweep_id}: {describe(state.space)}"
            + (f"; {state.skipped} already done" if state.skipped else "")
            + (f"; {state.executor}" if state.executor else "")
            + f"; ranked by {score_column(state.monitor)[0]}"
        )
        if self.out.is_terminal and todo:
            self.progress = Progress(
                TextColumn("[bold]sweep"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("trials"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.out,
            )
            self.progress.start()
            self.task = self.progress.add_task(
                "sweep", total=state.total, completed=state.skipped, status=self._status(state)
            )

    def on_trial_start(self, state, trial) -> None:
        if self.progress is not None:
            self.progress.update(self.task, status=self._status(state))

    def on_trial_epoch(self, state, trial, row) -> None:
        """A running trial's latest epoch, as its worker reports it: shown beside the bar."""
        self.epochs[trial.trial_id] = int(row["epoch"])
        if self.progress is not None:
            self.progress.update(self.task, status=self._status(state))

    def on_trial_end(self, state, trial, row) -> None:
        done = len(state.rows) - state.count("pending", "running")
        if self.progress is not None:
            self.progress.update(self.task, completed=done, status=self._status(state))
        elif not self.quiet:
            from ..results.sweeps import score_column

            column, _ = score_column(state.monitor)
            params = " ".join(f"{k}={value_label(v)}" for k, v in trial.params.items())
            detail = row.get("error") or f"{column}={number(row.get(column))}"
            seconds = row.get("wall_seconds")
            self.out.print(
                f"[{done}/{state.total}] {trial.trial_id} {row['status']} {detail}  {params}"
                + (f"  {seconds:.1f}s" if isinstance(seconds, float) else "")
                + _eta(time.perf_counter() - self.started, done - self.skipped, state.total - done)
            )

    def on_sweep_end(self, state) -> None:
        if self.progress is not None:
            self.progress.update(self.task, status=self._status(state))
            self.progress.stop()

    def _status(self, state) -> str:
        from ..results.sweeps import score_column

        epochs = state.space.base_config().epochs
        running = [t.trial_id for t in state.trials if state.rows[t.trial_id]["status"] == "running"]
        at = [f"{self.epochs[t]}/{epochs}" for t in running if t in self.epochs]
        parts = [
            f"{len(running)} running" + (f" (epoch {', '.join(at)})" if at else ""),
            f"{state.count('failed')} failed",
        ]
        if state.space.prune:
            parts.append(f"{state.count('pruned')} pruned")
        best = state.best()
        if best is not None:
            parts.append(f"best {number(best[score_column(state.monitor)[0]])}")
        return ", ".join(parts)


class LrFindProgress:
    """``on_step(repeat, step, lr, smoothed_loss)`` of the range test: a bar of steps with the current
    rate and smoothed loss on a terminal; off a terminal, one line per seed when its test ends."""

    def __init__(self, iters: int, repeats: int, quiet: bool = False, out: Console | None = None):
        self.iters, self.repeats = iters, repeats
        self.console = out or console()
        self.progress: Progress | None = None
        self.live = self.console.is_terminal and not quiet
        self.repeat = -1

    def __call__(self, repeat: int, step: int, lr: float, loss: float) -> None:
        if not self.live:
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("[bold]lr-find"),
                TextColumn("{task.fields[seed]}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TextColumn("steps  lr {task.fields[lr]}  smoothed loss {task.fields[loss]}"),
                console=self.console,
            )
            self.progress.start()
        if repeat != self.repeat:
            self.repeat = repeat
            seed = f"{repeat + 1}/{self.repeats}" if self.repeats > 1 else ""
            self.task = self.progress.add_task("lr-find", total=self.iters, seed=seed, lr="", loss="")
        self.progress.update(self.task, completed=step + 1, lr=f"{lr:.3g}", loss=number(loss))

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
