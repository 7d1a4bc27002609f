"""Sweep directories: the spec, one ordinary run directory per trial, and ``sweep.csv``.

``results/<sweep-id>/`` holds:

``sweep.json``            the sweep's spec (base options, axes, zip, repeats, trials, seeds) and its trials
``trials/<trial-id>/``    a run directory like ``nnctl train`` writes (config.json, curve.csv,
                          metrics.csv, weights.npz), the id being the hash of the trial's configuration
``sweep.csv``             one row per trial: id, point id, status, axis values, best/final metrics,
                          seconds; rewritten atomically whenever a trial starts or finishes

A trial's directory is written complete into a temporary directory and renamed into place, so a
directory named by a trial id always holds a finished trial (its ``metrics.csv`` says how it ended);
one whose files were damaged afterwards is no whole run and runs again (:func:`read_trial`).
The trial directories are the truth: ``sweep.csv`` is a view rebuilt from them on resume, and a
sweep killed at any moment leaves no half-written file behind.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError, DataError, RunFailure
from ..training.direction import mode
from ..training.status import FAILED, FINISHED, PRUNED, RESULTS, WORKER_DIED  # noqa: F401  (re-exported)
from .runs import METRICS_COLUMNS, RunRecord
from .store import atomic_write_bytes, check_results_dir, inside, read_json, write_csv, write_json

if TYPE_CHECKING:
    import pandas as pd

SWEEP_JSON = "sweep.json"
SWEEP_CSV = "sweep.csv"
TRIALS = "trials"
# a finished trial is never rerun; a failed one (it raised) only with --retry-failed; the others
# (pending, running, interrupted, worker_died) run again on resume

_FILE_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
_LEAD = ["trial_id", "point_id", "status"]
_TAIL = [c for c in METRICS_COLUMNS if c != "status"] + ["worker", "error"]


# --- the sweep directory ---------------------------------------------------------------------------


def open_sweep_dir(results_dir: str | os.PathLike, sweep_id: str, document: dict[str, Any]) -> Path:
    """Create ``results_dir/sweep_id`` with its ``sweep.json``, or reopen it (the spec must match).

    The sweep directory and its ``trials`` folder must be real directories inside ``results_dir``:
    a symbolic link in their place (which would send every trial elsewhere) is refused.
    """
    if not _FILE_NAME.match(sweep_id) or sweep_id in (".", ".."):
        raise ConfigError(f"sweep id {sweep_id!r} is not allowed; expected letters, digits, '.', '_' and '-'")
    root = check_results_dir(results_dir)
    path = root / sweep_id
    for part in (path, path / TRIALS):
        if part.is_symlink() or (part.exists() and not part.is_dir()):
            raise ConfigError(
                f"'{part}' is {'a symbolic link' if part.is_symlink() else 'a file'}; a sweep writes only into "
                f"real directories inside '{root}' (remove it or choose another --results-dir)"
            )
    try:
        (path / TRIALS).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create sweep directory '{path}': {exc.strerror or exc}") from None
    if not inside(path / TRIALS, root):
        raise ConfigError(f"sweep directory '{path}' lies outside '{root}'; choose another --results-dir")
    spec_file = path / SWEEP_JSON
    if spec_file.is_file():
        existing = read_sweep(path)
        if existing.get("sweep_id") != sweep_id:
            raise ConfigError(f"'{path}' holds sweep {existing.get('sweep_id')!r}, not {sweep_id!r}")
    else:
        write_json(spec_file, document)
    return path


def find_sweep(ref: str | os.PathLike, results_dir: str | os.PathLike = "results") -> Path:
    """A sweep by path (its directory or its sweep.json) or by id inside ``results_dir``."""
    for candidate in (Path(ref), Path(results_dir) / str(ref)):
        if candidate.name == SWEEP_JSON and candidate.is_file():
            return candidate.parent
        if (candidate / SWEEP_JSON).is_file():
            return candidate
    known = sorted(p.parent.name for p in Path(results_dir).glob(f"*/{SWEEP_JSON}"))
    raise DataError(
        f"no sweep '{ref}' (neither a sweep directory nor a sweep id in '{results_dir}'); "
        + (f"sweeps there: {', '.join(known)}" if known else "none there yet")
    )


def read_sweep(path: str | os.PathLike) -> dict[str, Any]:
    doc = read_json(Path(path) / SWEEP_JSON)
    if not isinstance(doc, dict):
        raise DataError(f"'{Path(path) / SWEEP_JSON}' is not a sweep's {SWEEP_JSON}; expected a JSON object")
    return doc


def read_sweep_partial(path: str | os.PathLike) -> tuple[dict[str, Any] | None, pd.DataFrame, list[str]]:
    """A sweep directory: ``sweep.json`` (None when unreadable), ``sweep.csv`` (one row per trial,
    empty before the first is written) and problems."""
    from .artifacts import read_csv_partial, read_json_partial

    path = Path(path)
    doc, problems = read_json_partial(path / SWEEP_JSON)
    frame, more = read_csv_partial(path / SWEEP_CSV, numeric=False)
    return doc, frame, problems + more


def clean_scratch(sweep_path: str | os.PathLike) -> None:
    """Remove temporaries of trials whose writing was cut off (they never became trial directories).

    Call it only while holding the sweep's lock: another process running the sweep writes there.
    """
    for scratch in (Path(sweep_path) / TRIALS).glob(".*"):
        shutil.rmtree(scratch, ignore_errors=True)


# --- trial directories -------------------------------------------------------------------------------


def write_trial(
    sweep_path: Path,
    trial_id: str,
    files: dict[str, bytes] | None = None,
    *,
    document: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write ``trials/<trial_id>/`` all at once: into a hidden temporary directory, then renamed.

    ``files`` are the run directory's files as a worker's RunRecorder wrote them (name → bytes); a
    trial that failed before recording anything gives its ``document`` (config.json) and
    ``metrics`` row instead. A previous directory of the same trial (a failed attempt being
    retried) is moved aside first and removed after, so at every moment the trial id names either
    the old or the new complete run.
    """
    trials = Path(sweep_path) / TRIALS
    final = trials / trial_id
    tmp = trials / f".tmp-{trial_id}-{secrets.token_hex(3)}"
    try:
        tmp.mkdir(parents=True)
    except OSError as exc:
        raise RunFailure(f"cannot write trial directory '{final}': {exc.strerror or exc}") from None
    try:
        if files:
            for name, data in files.items():
                if not _FILE_NAME.match(name):
                    raise RunFailure(f"trial {trial_id} returned a file named {name!r}; expected a plain file name")
                atomic_write_bytes(tmp / name, data)
        else:
            write_json(tmp / "config.json", document or {"run_id": trial_id})
            write_csv(tmp / "metrics.csv", [metrics or {}], METRICS_COLUMNS)
    except BaseException:  # a full disk, Ctrl-C: the trial keeps its previous state, no temporary is left
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = trials / f".old-{trial_id}-{secrets.token_hex(3)}"
    try:
        if final.exists():
            os.replace(final, old)
        os.replace(tmp, final)
        _fsync_dir(trials)
    except OSError as exc:
        raise RunFailure(f"cannot write trial directory '{final}': {exc.strerror or exc}") from None
    shutil.rmtree(old, ignore_errors=True)
    return final


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_trial(sweep_path: Path, trial_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """A written trial's metrics row, and what is wrong with its directory (:func:`read_trial_record`)."""
    record, damage = read_trial_record(sweep_path, trial_id)
    return (record.metrics or None) if record is not None else None, damage


def read_trial_record(sweep_path: Path, trial_id: str) -> tuple[RunRecord | None, str | None]:
    """A written trial as read back (its curve too), and what is wrong with its directory.

    ``(None, None)``: the trial has no directory yet. A directory whose files do not form a whole run
    (:func:`~.artifacts.read_run_partial`: a cut-off metrics.csv, weights.npz missing, curve.csv
    missing, garbled or shorter than its epochs) gives ``(None, <its problems>)``: the trial is
    treated as never written and runs again. A failed trial keeps its row (it reruns only when failed
    trials are retried) as long as its status can be read; so does a trial whose worker died (it
    reruns on resume).
    """
    from .artifacts import problem_text, read_run_partial  # they need pandas; the sweep's start does not

    path = Path(sweep_path) / TRIALS / trial_id
    if not path.is_dir():
        return None, None
    record, problems = read_run_partial(path)
    if problems and record.metrics.get("status") not in (FAILED, WORKER_DIED):  # those have no weights
        return None, problem_text(problems)
    return record, None


def trial_metrics(sweep_path: Path, trial_id: str) -> dict[str, Any] | None:
    """The metrics row of a trial whose directory holds a whole run (see :func:`read_trial`), else None."""
    return read_trial(sweep_path, trial_id)[0]


# --- sweep.csv -----------------------------------------------------------------------------------------


def sweep_row(
    trial_id: str,
    point_id: str,
    params: dict[str, Any],
    status: str,
    metrics: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One row of sweep.csv: identity, status, axis values, then the trial's metrics."""
    row = {"trial_id": trial_id, "point_id": point_id, "status": status, **params}
    for key, value in (metrics or {}).items():
        if key not in row and value is not None:
            row[key] = value
    row.update({k: v for k, v in extra.items() if v is not None})
    if status == FAILED and "error" not in row and row.get("stop_reason"):
        row["error"] = row["stop_reason"]
    row["status"] = status
    return row


def write_sweep_csv(sweep_path: Path, rows: list[dict[str, Any]], axes: list[str]) -> None:
    """Rewrite sweep.csv atomically: identity, status, axes, then the metrics columns in order."""
    write_csv(Path(sweep_path) / SWEEP_CSV, rows, _LEAD + list(axes) + _TAIL)


def read_sweep_csv(sweep_path: str | os.PathLike) -> pd.DataFrame:
    import pandas as pd

    path = Path(sweep_path) / SWEEP_CSV
    if not path.is_file():
        raise DataError(f"'{sweep_path}' has no {SWEEP_CSV} yet")
    return pd.read_csv(path)


def score_column(monitor: str) -> tuple[str, str]:
    """The sweep.csv column that ranks trials by ``monitor`` and whether higher is better.

    Validation metrics are ranked at their best epoch (``best_val_loss``), training metrics by
    their final value; accuracy is maximized, losses and errors minimized.
    """
    column = f"best_{monitor}" if monitor.startswith("val_") else monitor
    return column, mode(monitor)


def leaderboard(frame: pd.DataFrame, axes: list[str], monitor: str, top: int = 10) -> pd.DataFrame:
    """The best points by ``monitor``: one row per point (repeats over seeds pooled), with the mean,
    the sample standard deviation (ddof=1; empty for one seed) and the number of seeds."""
    import pandas as pd

    column, mode = score_column(monitor)
    done = frame[frame["status"].isin(RESULTS)] if "status" in frame else frame.iloc[0:0]
    if column not in done or done.empty:
        return pd.DataFrame()
    keys = [a for a in axes if a != "seed" and a in done]
    test_col = next((c for c in ("test_acc", "test_loss", "test_mse") if c in done), None)
    agg: dict[str, Any] = {
        "score_mean": (column, "mean"),
        "score_std": (column, "std"),
        "n": (column, "count"),
        "trial_id": ("trial_id", "first"),
    }
    if "wall_seconds" in done:
        agg["seconds"] = ("wall_seconds", "mean")
    if test_col:
        agg[f"{test_col}_mean"] = (test_col, "mean")
    agg.update({k: (k, "first") for k in keys})
    board = done.groupby("point_id", sort=False).agg(**agg).reset_index()
    board = board.sort_values("score_mean", ascending=(mode == "min"), na_position="last", kind="stable")
    board.attrs.update(metric=column, mode=mode, test=test_col)
    return board.head(top)
