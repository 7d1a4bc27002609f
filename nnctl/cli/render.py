"""What the terminal shows of results: layer tables, run summaries, evaluations (progress: progress.py)."""

from __future__ import annotations

import math
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from ..results.formatting import number


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


def evaluation_table(record: dict[str, Any]) -> Table:
    """``nnctl evaluate``'s metrics, and a confusion matrix (rows: true class, columns: predicted)."""
    table = Table(title=f"{record['data']}: {record['samples']} samples", title_justify="left", show_edge=False)
    matrix, classes = record.get("confusion_matrix"), record.get("classes") or []
    if not matrix:
        table.add_column("metric")
        table.add_column("value", justify="right")
        for key, value in record["metrics"].items():
            table.add_row(key, number(value))
        return table
    metrics = ", ".join(f"{k} {number(v)}" for k, v in record["metrics"].items())
    table.title += f" — {metrics}"
    table.add_column("true \\ predicted")
    for c in classes:
        table.add_column(str(c), justify="right")
    for c, row in zip(classes, matrix):
        table.add_row(str(c), *[str(v) if v else "." for v in row])
    return table
