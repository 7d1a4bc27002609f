"""Everything the terminal shows: progress, layer tables, run summaries."""

from __future__ import annotations

import math
import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..results.formatting import number
from ..training.callbacks import Callback


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def layer_table(summary: list[dict[str, Any]], input_shape: tuple[int, ...], total: int) -> Table:
    table = Table(title="Model", title_justify="left", show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("layer")
    table.add_column("output shape")
    table.add_column("params", justify="right")
    table.add_row("0", "input", str(tuple(input_shape)), "0")
    for row in summary:
        table.add_row(str(row["index"]), row["layer"], str(tuple(row["output_shape"])), f"{row['params']:,}")
    table.add_row("", "total", "", f"{total:,}")
    return table


_SHOWN = ("train_loss", "train_acc", "train_mae", "val_loss", "val_acc", "val_mae")


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    parts = [f"epoch {row['epoch']}/{epochs}"]
    for key in _SHOWN:
        if key in row and not (isinstance(row[key], float) and math.isnan(row[key])):
            parts.append(f"{key}={number(row[key])}")
    if row.get("samples_per_second") and not math.isnan(row["samples_per_second"]):
        parts.append(f"{row['samples_per_second']:,.0f} samples/s")
    return "  ".join(parts)


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
        if self.progress is not None:
            status = "  ".join(p for p in line.split("  ")[1:])
            self.progress.update(self.task, completed=row["epoch"], status=status)
        else:
            self.console.print(line)

    def on_train_end(self, result) -> None:
        if self.progress is not None:
            self.progress.stop()


def result_table(run_dir: str, result, metrics: dict[str, Any]) -> Table:
    table = Table(title="Result", title_justify="left", show_header=False, show_edge=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    table.add_row("status", result.status + (f" ({result.stop_reason})" if result.stop_reason else ""))
    table.add_row(
        "epochs",
        f"{result.epochs_run} (best {result.best_epoch} by {result.monitor}"
        + (", restored" if result.restored_best else "")
        + ")",
    )
    table.add_row(
        "",
        f"the returned model (epoch {result.best_epoch if result.restored_best else result.epochs_run}), "
        "evaluated in evaluation mode:",
    )
    for key in (
        "eval_train_loss",
        "eval_train_acc",
        "val_loss",
        "val_acc",
        "test_loss",
        "test_acc",
        "test_mse",
        "test_mae",
        "test_r2",
    ):
        if key in metrics:
            table.add_row(key, number(metrics[key]))
    table.add_row("throughput", f"{result.samples_per_second:,.0f} samples/s (training steps)")
    table.add_row("seconds", f"{result.seconds:.1f}")
    table.add_row("results", str(run_dir))
    return table


def is_terminal() -> bool:
    return sys.stdout.isatty()
