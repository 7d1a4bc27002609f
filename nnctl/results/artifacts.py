"""Reading result directories for pages that must show whatever can be read.

:func:`~.runs.load_run` stops at the first file it cannot read: right for a command that needs a
whole run. A report over many directories must not stop at one broken run, so
:func:`read_run_partial` reads each file of a run on its own and returns what it could read with a
list of problems, one line each (``curve.csv: the last line is cut off (left out)``). The same goes
for the other files a report shows: ``diagnostics.csv``, an lr-find's ``lr_find.csv`` and
``lr_find.json``, an experiment's ``outcome.json`` and a sweep's ``sweep.json`` / ``sweep.csv``.

Every nnctl writer ends a CSV file with a newline and writes it atomically, so a file that does not
end in one was cut off by something else (a copy interrupted, a disk that filled): its last line is
left out rather than read as a short row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import DataError
from .runs import INCOMPLETE, RunRecord, _clean, _read_csv
from .store import is_locked, read_json
from .sweeps import SWEEP_CSV, SWEEP_JSON

#: statuses after which a run has written its weights
WITH_WEIGHTS = ("completed", "early_stopped", "diverged", "interrupted")


def read_csv_partial(path: Path, numeric: bool = True) -> tuple[pd.DataFrame, list[str]]:
    """A CSV file of a result directory and its problems (an empty frame when missing or unreadable).

    A last line without its newline is dropped; with ``numeric`` every column but a few text ones is
    converted to numbers, and a value that is not one becomes missing (and a problem).
    """
    problems: list[str] = []
    if not path.is_file():
        return pd.DataFrame(), problems
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return pd.DataFrame(), [f"{path.name}: cannot be read ({exc.strerror or exc})"]
    try:
        frame = _read_csv(path)
    except DataError as exc:
        return pd.DataFrame(), [f"{path.name}: {_short(exc, path)}"]
    if raw and not raw.endswith(b"\n") and len(frame):
        frame = frame.iloc[:-1]
        problems.append(f"{path.name}: the last line is cut off (left out)")
    if numeric and len(frame):
        for column in frame.columns:
            if column in _TEXT_COLUMNS or pd.api.types.is_numeric_dtype(frame[column]):
                continue
            converted = pd.to_numeric(frame[column], errors="coerce")
            bad = int((converted.isna() & frame[column].notna()).sum())
            if bad:
                problems.append(f"{path.name}: {bad} value(s) of '{column}' are not numbers (left out)")
            frame[column] = converted
    return frame.reset_index(drop=True), problems


_TEXT_COLUMNS = (
    "status",
    "stop_reason",
    "monitor",
    "warnings",
    "started",
    "finished",
    "layer",
    "stat",
    "trial_id",
    "point_id",
    "worker",
    "error",
    "restored_best",
)


def _short(exc: Exception, path: Path) -> str:
    """A reader's message without the path (the page already says which run)."""
    return str(exc).replace(f"'{path}' ", "").replace(f"'{path}'", "the file")


def read_run_partial(path: str | Path) -> tuple[RunRecord, list[str]]:
    """A run directory as far as it can be read, and one line per problem.

    The record always exists: an unreadable ``config.json`` gives an empty config, an unreadable
    ``curve.csv`` an empty curve. ``metrics["status"]`` is ``incomplete`` for a run that says
    ``running`` (or has no metrics) while no process holds its lock, as :func:`load_run` reports it.
    """
    path = Path(path)
    problems: list[str] = []
    config: dict[str, Any] = {}
    if not (path / "config.json").is_file():
        problems.append("config.json: missing")
    else:
        try:
            doc = read_json(path / "config.json")
        except DataError as exc:
            doc = None
            problems.append(f"config.json: {_short(exc, path / 'config.json')}")
        if isinstance(doc, dict):
            config = doc
        elif doc is not None:
            problems.append(f"config.json: expected a JSON object, got {type(doc).__name__}")
    curve, more = read_csv_partial(path / "curve.csv")
    problems += more
    if len(curve) and "epoch" not in curve.columns:
        problems.append("curve.csv: no epoch column (left out)")
        curve = pd.DataFrame()
    elif len(curve):
        curve = curve[curve["epoch"].notna()].reset_index(drop=True)
    frame, more = read_csv_partial(path / "metrics.csv")
    problems += more
    metrics = {k: _clean(v) for k, v in frame.iloc[0].to_dict().items()} if len(frame) else {}
    if metrics.get("status") in (None, "running") and is_locked(path) is False:
        metrics["status"] = INCOMPLETE
    if metrics.get("status") in WITH_WEIGHTS and not (path / "weights.npz").is_file():
        problems.append("weights.npz: missing")
    return RunRecord(path, config, curve, metrics), problems


def read_diagnostics(path: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """A run's ``diagnostics.csv`` (epoch, layer, stat, value; empty when absent) and its problems."""
    frame, problems = read_csv_partial(Path(path) / "diagnostics.csv")
    if len(frame) and not {"epoch", "layer", "stat", "value"} <= set(frame.columns):
        return pd.DataFrame(), problems + ["diagnostics.csv: expected the columns epoch, layer, stat, value"]
    if len(frame):
        frame = frame.dropna(subset=["epoch", "layer", "stat"])
    return frame, problems


def read_json_partial(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """A JSON object file, or None and why not."""
    try:
        doc = read_json(path)
    except DataError as exc:
        return None, [f"{path.name}: {_short(exc, path)}"]
    if not isinstance(doc, dict):
        return None, [f"{path.name}: expected a JSON object, got {type(doc).__name__}"]
    return doc, []


def read_lr_find(path: str | Path) -> tuple[dict[str, Any] | None, pd.DataFrame, list[str]]:
    """An lr-find directory: ``lr_find.json`` (None when unreadable), ``lr_find.csv`` and problems."""
    path = Path(path)
    doc, problems = read_json_partial(path / "lr_find.json")
    frame, more = read_csv_partial(path / "lr_find.csv")
    if not (path / "lr_find.csv").is_file():
        more.append("lr_find.csv: missing")
    return doc, frame, problems + more


def read_outcome(path: str | Path) -> tuple[dict[str, Any] | None, list[str]]:
    """An experiment folder's ``outcome.json`` (written with its report), or None and why not."""
    path = Path(path) / "outcome.json"
    if not path.is_file():
        return None, [
            "outcome.json: missing (written by 'nnctl experiment run' since the report pages exist; "
            "rerun the experiment to get its verdict here)"
        ]
    return read_json_partial(path)


def read_sweep_partial(path: str | Path) -> tuple[dict[str, Any] | None, pd.DataFrame, list[str]]:
    """A sweep directory: ``sweep.json`` (None when unreadable), ``sweep.csv`` (one row per trial,
    empty before the first is written) and problems."""
    path = Path(path)
    doc, problems = read_json_partial(path / SWEEP_JSON)
    frame, more = read_csv_partial(path / SWEEP_CSV, numeric=False)
    return doc, frame, problems + more
