"""Reading result directories back: each file on its own, whatever can be read, and what cannot.

:func:`read_run_partial` is the one reader of a run directory. It reads each file of a run on its
own and returns what it could read with a list of problems, one line each (``curve.csv: the last
line is cut off (left out)``): the files that do not form a whole run. Every command decides from
that list. The report shows what can be read and names each problem (``unreadable: <problem>``);
``compare-runs`` skips a run that has any and names it; :func:`load_run`, for a command that needs
one whole run (``plot``), refuses it with one line; a sweep runs a trial with one again. The same goes
for the other files a report shows: ``diagnostics.csv``, an lr-find's ``lr_find.csv`` and
``lr_find.json``, an experiment's ``outcome.json`` (a sweep's files: :mod:`.sweeps`).

Every nnctl writer ends a CSV file with a newline and writes it atomically, so a file that does not
end in one was cut off by something else (a copy interrupted, a disk that filled): its last line is
left out rather than read as a short row.
"""

from __future__ import annotations

import io
import math
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import DataError
from ..training.status import INCOMPLETE
from .runs import RunRecord
from .store import RUN_ID, is_locked, read_json

#: the files that make a directory a run directory (see :func:`is_run_dir`)
RUN_FILES = ("config.json", "curve.csv", "metrics.csv")
#: statuses after which a run has written its weights and a curve row for every epoch it ran (a
#: failed run keeps what it recorded before the error)
WITH_WEIGHTS = ("completed", "early_stopped", "diverged", "interrupted")


def is_run_dir(path: str | Path) -> bool:
    """Whether ``path`` is a run directory, whole or damaged: it holds one of :data:`RUN_FILES`, or
    it is what a run killed before writing its config.json leaves, a directory named like a run id
    (:func:`~.store.new_run_id`) holding nothing but hidden temporary files."""
    path = Path(path)
    if any((path / name).is_file() for name in RUN_FILES):
        return True
    if not RUN_ID.fullmatch(path.name) or path.is_symlink():
        return False
    try:
        return all(child.name.startswith(".") and child.is_file() for child in path.iterdir())
    except OSError:
        return False


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
    bad = f"{path.name}: is not a valid CSV file"
    if b"\0" in raw:
        return pd.DataFrame(), [f"{bad}: it holds NUL bytes (binary data)"]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return pd.DataFrame(), [
            f"{bad}: byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8 text (binary data?)"
        ]
    try:
        frame = pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (pd.errors.ParserError, ValueError) as exc:
        return pd.DataFrame(), [f"{bad}: {' '.join(str(exc).split())}"]
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
    """A run directory as far as it can be read, and one line per problem: an empty list says the
    files form a whole run.

    The record always exists: an unreadable ``config.json`` gives an empty config, an unreadable
    ``curve.csv`` an empty curve. ``metrics["status"]`` is ``incomplete`` for a run that says
    ``running`` (or has no metrics) while no process holds its lock: a run killed before its first
    epoch is incomplete, not damaged. A run that records a result (:data:`WITH_WEIGHTS`) is damaged
    when its weights are missing or not an archive, or its curve is missing or holds fewer epochs
    than ``metrics.csv`` says were run.
    """
    path = Path(path)
    problems: list[str] = []
    config = _read_config(path, problems)
    curve, curve_problems = read_csv_partial(path / "curve.csv")
    if len(curve) and "epoch" not in curve.columns:
        curve_problems.append("curve.csv: no epoch column (left out)")
        curve = pd.DataFrame()
    elif len(curve):
        curve = curve[curve["epoch"].notna()].reset_index(drop=True)
    frame, more = read_csv_partial(path / "metrics.csv")
    metrics = {k: _clean(v) for k, v in frame.iloc[0].to_dict().items()} if len(frame) else {}
    if (path / "metrics.csv").is_file() and not more and not isinstance(metrics.get("status"), str):
        more.append("metrics.csv: has no status row")
    if metrics.get("status") in (None, "running"):
        locked = is_locked(path)
        if locked is not None:  # None: it cannot be told, the file says what it says
            metrics["status"] = "running" if locked else INCOMPLETE
    problems += curve_problems + more
    if metrics.get("status") in WITH_WEIGHTS:
        if not (path / "curve.csv").is_file():
            problems.append("curve.csv: missing")
        elif not curve_problems:
            problems += _short_curve(curve, metrics)
        if not (path / "weights.npz").is_file():
            problems.append("weights.npz: missing")
        elif not zipfile.is_zipfile(path / "weights.npz"):
            problems.append("weights.npz: is not a .npz archive (cut off or overwritten)")
    return RunRecord(path, config, curve, metrics), problems


def _read_config(path: Path, problems: list[str]) -> dict[str, Any]:
    """``config.json`` as a dict with the run's options under ``config`` (else empty, and a problem)."""
    if not (path / "config.json").is_file():
        nothing = not any((path / name).is_file() for name in RUN_FILES)
        if nothing and is_locked(path):  # a run starting: its process is about to write it
            return {}
        problems.append("config.json: missing" + (" (the run stopped before it wrote anything)" if nothing else ""))
        return {}
    try:
        doc = read_json(path / "config.json")
    except DataError as exc:
        problems.append(f"config.json: {_short(exc, path / 'config.json')}")
        return {}
    if not isinstance(doc, dict):
        problems.append(f"config.json: expected a JSON object, got {type(doc).__name__}")
        return {}
    if not isinstance(doc.get("config"), dict):
        got = "nothing" if "config" not in doc else type(doc["config"]).__name__
        problems.append(f"config.json: expected the run's options as an object under 'config', got {got}")
        return {k: v for k, v in doc.items() if k != "config"}
    return doc


def _short_curve(curve: pd.DataFrame, metrics: dict[str, Any]) -> list[str]:
    """A problem when ``curve.csv`` stops before the epochs ``metrics.csv`` says were run (or before its
    best epoch): the run's result would lie beyond its curve."""
    ran = [v for v in (metrics.get("epochs_run"), metrics.get("best_epoch")) if _number(v)]
    if not ran:
        return []
    epochs = int(max(ran))
    last = int(curve["epoch"].max()) if len(curve) else None
    if last is not None and last >= epochs and len(curve) > epochs:
        return []
    held = "no epochs" if last is None else f"{len(curve)} rows, up to epoch {last}"
    return [f"curve.csv: holds {held}; metrics.csv says {epochs} epoch(s) were run"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def problem_text(problems: list[str]) -> str:
    """A run's problems as one line: ``<problem>; <problem>`` (at most three named)."""
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def unreadable(path: str | Path, problems: list[str]) -> str:
    """``run '<path>' is unreadable: <problem>; <problem>``."""
    return f"run '{path}' is unreadable: {problem_text(problems)}"


def load_run(path: str | Path) -> RunRecord:
    """A whole run directory, for a command that needs one (``plot``, ``nnctl.load_run``): a run with
    any problem :func:`read_run_partial` finds is one DataError naming them. A run killed before
    its first epoch is whole, with status ``incomplete`` and an empty curve."""
    record, problems = read_run_partial(path)
    if problems:
        raise DataError(unreadable(path, problems))
    return record


def _clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


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
