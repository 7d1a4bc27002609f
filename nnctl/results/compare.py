"""Comparing finished runs: find them, tabulate what differs, aggregate over seeds, test differences.

A comparison table has one row per run: the configuration keys whose values differ between the
runs (the rest is common and says nothing), then what the curves show — the best value of the
chosen validation metric and its epoch, its value at the last epoch, the test metric of the
returned model, epochs, status, seconds, and optionally how many epochs the run needed to reach a
target. Runs that differ only by seed are noise around one configuration: :func:`group_table`
aggregates them into mean ± sample standard deviation with n, and :func:`welch_t_test` asks
whether the two best groups differ by more than that noise.
"""

from __future__ import annotations

import glob
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import ConfigError, DataError, suggestion
from ..core.registry import check_int
from ..training.direction import higher_is_better
from .artifacts import is_run_dir, load_run, problem_text, read_run_partial, unreadable
from .runs import RunRecord
from .store import RUN_ID

#: options that name or place a run but do not change what it computes
BOOKKEEPING = ("name", "results_dir")
_NOT_METRICS = ("epoch", "step", "lr", "epoch_seconds", "samples_per_second")


# --- finding runs --------------------------------------------------------------------------------


def resolve_runs(items: list[str], results_dir: str | os.PathLike = "results") -> list[Path]:
    """Run directories named by ``items``: run ids, run or sweep directories, sweep ids or globs.

    A run directory is any directory holding ``config.json``; a directory without one (a sweep)
    stands for every run directory below it. Ids are looked up under ``results_dir``, nested ones
    (a sweep's trials) included.
    """
    if not items:
        raise ConfigError("no runs given; pass run ids, run or sweep directories, or a glob")
    root = Path(results_dir)
    found: list[Path] = []
    for item in items:
        matches = _match(str(item), root)
        if not matches:
            raise DataError(f"unknown run or sweep '{item}'; " + _existing(root))
        for path in matches:
            found.extend(_run_dirs(path))
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(str(path.resolve()), path)
    return list(unique.values())


_SWEEP_HASH = re.compile(r"-[0-9a-f]{12}")


def _match(item: str, root: Path) -> list[Path]:
    """Directories ``item`` names: a glob, a path, an id under ``root``, a sweep's name (without its
    hash), a run's name (the end of its id), or a trial's id inside a sweep."""
    if any(ch in item for ch in "*?["):
        hits = sorted(set(glob.glob(item)) | set(glob.glob(str(root / item))))
        return [Path(h) for h in hits if Path(h).is_dir()]
    for candidate in (Path(item), root / item):
        if candidate.is_dir():
            return [candidate]
    if not root.is_dir() or "/" in item or item in ("", ".", ".."):
        return []
    children = sorted(p for p in root.iterdir() if p.is_dir())
    sweeps = [p for p in children if p.name.startswith(item) and _SWEEP_HASH.fullmatch(p.name[len(item) :])]
    if len(sweeps) > 1:
        raise DataError(
            f"sweep name '{item}' matches {len(sweeps)} sweeps: {', '.join(p.name for p in sweeps)}; pass one of them"
        )
    if sweeps:
        return sweeps
    named = [p for p in children if (m := RUN_ID.fullmatch(p.name)) and m.group(2) == item]
    if named:  # every run given this --name
        return named
    return sorted(Path(d) / item for d, subdirs, _ in os.walk(root) if item in subdirs)


def _run_dirs(path: Path) -> list[Path]:
    """``path`` itself when it is a run directory (:func:`~.artifacts.is_run_dir`: whole or damaged),
    else the run directories below it; hidden directories (a sweep's trials being written) and
    symbolic links are not followed."""
    if is_run_dir(path):
        return [path]
    runs: list[Path] = []
    for parent, subdirs, _ in os.walk(path):
        below = []
        for name in sorted(subdirs):
            child = Path(parent) / name
            if name.startswith(".") or child.is_symlink():
                continue
            (runs if is_run_dir(child) else below).append(child)  # a run directory holds no runs
        subdirs[:] = [child.name for child in below]
    if not runs:
        raise DataError(f"'{path}' holds no runs (no directory with a config.json below it)")
    return sorted(runs)


def _existing(root: Path, limit: int = 12) -> str:
    if not root.is_dir():
        return f"results directory '{root}' does not exist (choose one with --results-dir)"
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        return f"'{root}' holds no runs"
    shown = ", ".join(names[-limit:])
    more = f" (latest {limit} of {len(names)})" if len(names) > limit else ""
    return f"runs and sweeps in '{root}'{more}: {shown}"


def load_runs(paths: list[Path]) -> list[RunRecord]:
    """Every run at ``paths``, each whole (:func:`~.artifacts.load_run`): the first that is not is a
    DataError."""
    return [load_run(p) for p in paths]


def read_runs(paths: list[Path]) -> tuple[list[RunRecord], list[tuple[Path, str]]]:
    """The runs at ``paths`` that are whole, and ``(path, why)`` for each that is not
    (:func:`~.artifacts.read_run_partial` found a problem): a comparison skips those and names them.
    When no run is whole, that is one DataError naming them."""
    records: list[RunRecord] = []
    damaged: list[tuple[Path, list[str]]] = []
    for path in paths:
        record, problems = read_run_partial(path)
        if problems:
            damaged.append((path, problems))
        else:
            records.append(record)
    if damaged and not records:
        if len(damaged) == 1:
            raise DataError(unreadable(*damaged[0]))
        named = "; ".join(f"'{p}': {problem_text(problems)}" for p, problems in damaged[:3])
        more = f" (and {len(damaged) - 3} more)" if len(damaged) > 3 else ""
        raise DataError(f"none of the {len(damaged)} runs can be read: {named}{more}")
    return records, [(path, problem_text(problems)) for path, problems in damaged]


def run_labels(records: list[RunRecord]) -> list[str]:
    """Run ids, prefixed by their parent directory where two runs share an id."""
    names = [r.path.name for r in records]
    return [f"{r.path.parent.name}/{n}" if names.count(n) > 1 else n for r, n in zip(records, names)]


# --- metrics -------------------------------------------------------------------------------------


def curve_metrics(records: list[RunRecord]) -> list[str]:
    cols: list[str] = []
    for r in records:
        cols += [c for c in r.curve.columns if c not in _NOT_METRICS and c not in cols]
    return cols


def check_metric(metric: str, records: list[RunRecord]) -> str:
    """``metric`` when some run's curve has it. Before any run has a curve row (runs killed in their
    first epoch are ``incomplete``), the default metric has nothing to be checked against and is
    allowed."""
    available = curve_metrics(records)
    if metric not in available and (available or metric != default_metric(records)):
        raise DataError(
            f"unknown metric '{metric}'; the runs' curves have: {', '.join(available) or 'nothing'}"
            + suggestion(metric, available)
        )
    return metric


def default_metric(records: list[RunRecord]) -> str:
    """val_acc for classification runs, val_loss otherwise."""
    return "val_acc" if "val_acc" in curve_metrics(records) else "val_loss"


def parse_target(text: str, records: list[RunRecord]) -> tuple[str, float]:
    """``val_acc=0.95`` → ("val_acc", 0.95): reached when val_acc ≥ 0.95 (≤ for losses and errors)."""
    key, sep, value = str(text).partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or number is None:
        raise ConfigError(f"target '{text}' is not allowed; expected METRIC=VALUE, e.g. val_acc=0.95")
    return check_metric(key.strip(), records), number


def target_column(target: tuple[str, float]) -> str:
    key, value = target
    return f"epochs_to_{key}{'>=' if higher_is_better(key) else '<='}{value:g}"


def _flat_config(record: RunRecord) -> dict[str, Any]:
    cfg = record.config.get("config", record.config)
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


def given_options(record: RunRecord) -> dict[str, Any] | None:
    """The options the user set for a run, as written (``config.json``'s ``given``; for a sweep trial
    written before that was recorded, its axis values). None when unknown."""
    given = record.config.get("given")
    if isinstance(given, dict):
        return {str(k).replace("-", "_"): v for k, v in given.items()}
    sweep = record.config.get("sweep")
    if isinstance(sweep, dict) and isinstance(sweep.get("params"), dict):
        return dict(sweep["params"])
    return None


def differing_keys(configs: list[dict[str, Any]], given: list[dict[str, Any] | None] | None = None) -> list[str]:
    """Configuration keys whose values are not the same in every run (bookkeeping keys excluded).

    Several keys may split the runs the same way (each value of one always goes with the same value
    of the other). Of such a set, the keys the user set to different values are shown; a key that
    only follows from them is not (with ``--lr`` set, the resolved optimizer spec carries the
    learning rate: ``lr`` and ``optimizer`` differ together). Where no key of a set was set by the
    user to differ (or nothing says what was set), the key with the shortest values speaks for it.
    """
    given = given or [None] * len(configs)
    keys: list[str] = []
    for cfg in configs:
        keys += [k for k in cfg if k not in keys and k not in BOOKKEEPING]
    norm = [{k: json.dumps(c.get(k), sort_keys=True, default=str) for k in keys} for c in configs]
    differing = [k for k in keys if len({n[k] for n in norm}) > 1]

    def set_to_differ(key: str) -> bool:
        shown = {json.dumps(_shown_value(key, c, g), sort_keys=True, default=str) for c, g in zip(configs, given)}
        return any(g is not None and key in g for g in given) and len(shown) > 1

    partitions: dict[tuple, list[str]] = {}
    for key in differing:
        codes: dict[str, int] = {}
        partitions.setdefault(tuple(codes.setdefault(n[key], len(codes)) for n in norm), []).append(key)
    kept: set[str] = set()
    for members in partitions.values():
        chosen = [k for k in members if set_to_differ(k)]
        kept.update(chosen or [min(members, key=lambda k: max(len(n[k]) for n in norm))])
    return [k for k in differing if k in kept]


def _shown_value(key: str, cfg: dict[str, Any], given: dict[str, Any] | None) -> Any:
    """What a table shows for ``key``: the value the user wrote, else the resolved one."""
    if given is not None and key in given:
        return given[key]
    return cfg.get(key)


def _run_row(record: RunRecord, metric: str, target: tuple[str, float] | None) -> dict[str, Any]:
    curve, m = record.curve, record.metrics
    row: dict[str, Any] = {}
    values = curve[metric].astype(float) if metric in curve.columns and len(curve) else pd.Series(dtype=float)
    if values.notna().any():
        i = values.idxmax() if higher_is_better(metric) else values.idxmin()
        row[f"best_{metric}"] = float(values[i])
        row["best_epoch"] = int(curve["epoch"][i])
        row[f"final_{metric}"] = float(values.iloc[-1])
    else:
        row[f"best_{metric}"], row["best_epoch"], row[f"final_{metric}"] = math.nan, None, math.nan
    suffix = metric.split("_", 1)[1] if "_" in metric else metric
    test = m.get(f"test_{suffix}")
    row[f"test_{suffix}"] = float(test) if test is not None else math.nan
    row["epochs_run"] = m.get("epochs_run", int(curve["epoch"].max()) if len(curve) else 0)
    row["status"] = m.get("status") or "unknown"
    row["seconds"] = m.get("wall_seconds") if m.get("wall_seconds") is not None else math.nan
    if target is not None:
        key, goal = target
        col = curve[key].astype(float) if key in curve.columns else pd.Series(dtype=float)
        hit = col >= goal if higher_is_better(key) else col <= goal
        row[target_column(target)] = int(curve["epoch"][hit.idxmax()]) if hit.any() else None
    return row


def runs_table(
    records: list[RunRecord],
    metric: str | None = None,
    target: tuple[str, float] | None = None,
    all_options: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """One row per run: ``run``, the differing config keys (every key with ``all_options``), then
    the metrics. Returns (frame, keys)."""
    if not records:
        raise DataError("no runs to compare")
    metric = check_metric(metric, records) if metric else default_metric(records)
    configs = [_flat_config(r) for r in records]
    given = [given_options(r) for r in records]
    keys = differing_keys(configs, given)
    if all_options:
        keys = keys + sorted({k for c in configs for k in c} - set(keys))
    rows = []
    for label, record, cfg, mine in zip(run_labels(records), records, configs, given):
        row: dict[str, Any] = {"run": label}
        row.update({k: _shown_value(k, cfg, mine) for k in keys})
        row.update(_run_row(record, metric, target))
        rows.append(row)
    frame = pd.DataFrame(rows)
    for key in keys:  # the resolved values, where they differ from what was written: in the CSV only
        resolved = [cfg.get(key) for cfg in configs]
        if any(json.dumps(r, default=str) != json.dumps(v, default=str) for r, v in zip(resolved, frame[key])):
            frame[f"resolved_{key}"] = resolved
    return frame, keys


def sort_table(
    frame: pd.DataFrame, by: str | None = None, top: int | None = None, metric: str | None = None
) -> pd.DataFrame:
    """Sort by a column (best first: descending for accuracies and R², ascending otherwise), keep ``top``."""
    if top is not None:
        top = check_int("", "top", top, 1)
    if by is None and metric is not None:
        by = f"best_{metric}"
    if by is not None:
        column = by if by in frame.columns else f"best_{by}" if f"best_{by}" in frame.columns else None
        if column is None:
            raise DataError(
                f"cannot sort by '{by}'; columns: {', '.join(frame.columns)}" + suggestion(by, list(frame.columns))
            )
        frame = frame.sort_values(column, ascending=not higher_is_better(column), na_position="last", kind="stable")
    frame = frame.reset_index(drop=True)
    return frame.head(top) if top is not None else frame
