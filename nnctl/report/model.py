"""The page model: everything the report pages show, as plain JSON-able data.

``nnctl report`` writes it into one HTML file; ``nnctl view`` serves the same pages and a fresh
copy of the model whenever a file under the results directory changes. One model for both, so the
static report and the live view show the same numbers, and tests can check those numbers here:

``runs``         one page per run (sweep trials included), keyed by its path below the root
``table``        the runs table: the configuration keys that differ, status, best/final metrics
``sweeps``       one page per sweep: axes, main effects, heatmaps, curves, the trials' table
``experiments``  one page per experiment: claim, expectation, verdict and numbers, group curves
``lrfinds``      one page per range test
``notes``        what was asked for but holds nothing nnctl wrote

:class:`ModelBuilder` keeps what it read, keyed by the files' sizes and modification times, so a
live view rereads only the runs that changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import one_line
from ..results.artifacts import read_run_partial
from ..results.runs import RunRecord
from ..results.store import is_locked
from ..results.sweeps import read_sweep_partial
from ..version import __version__
from .discover import Found, discover
from .experiments import experiment_page, lrfind_page
from .runs import run_page, runs_table
from .sweeps import sweep_page

_WATCHED = (
    "config.json",
    "curve.csv",
    "metrics.csv",
    "diagnostics.csv",
    "weights.npz",
    "sweep.json",
    "sweep.csv",
    "outcome.json",
    "lr_find.json",
    "lr_find.csv",
)


def _stamp(path: Path) -> tuple:
    """What changes when a directory's files change: their names, sizes and modification times."""
    out = []
    for name in _WATCHED:
        try:
            info = os.stat(path / name)
        except OSError:
            continue
        out.append((name, info.st_size, info.st_mtime_ns))
    return tuple(out)


class ModelBuilder:
    """Builds the page model of ``items`` (default: everything under ``results_dir``)."""

    def __init__(self, items: list[str] | None = None, results_dir: str | os.PathLike = "results", live: bool = False):
        self.items = list(items or [])
        self.results_dir = Path(results_dir)
        self.live = live
        self._runs: dict[str, tuple[tuple, Any, dict[str, Any]]] = {}
        self._signature: str | None = None
        self._model: dict[str, Any] | None = None

    def signature(self, found: Found | None = None) -> str:
        """A hash of every watched file's size and time, and of which running runs are still held."""
        found = found or discover(self.items, self.results_dir)
        digest = hashlib.sha256()
        for group in (found.runs, found.sweeps, found.experiments, found.lrfinds):
            for key, path in group.items():
                digest.update(repr((key, _stamp(path))).encode())
                cached = self._runs.get(key)
                if cached is not None and cached[2]["status"] in ("running", "incomplete"):
                    digest.update(repr(is_locked(path)).encode())
        digest.update(repr(found.notes).encode())
        return digest.hexdigest()[:16]

    def model(self) -> dict[str, Any]:
        """The current model; rebuilt only when :meth:`signature` changed."""
        found = discover(self.items, self.results_dir)
        signature = self.signature(found)
        if self._model is None or signature != self._signature:
            self._model = self._build(found)
            self._signature = self.signature(found)  # the build may have learnt which runs are running
            self._model["version"] = self._signature
        return self._model

    def _run(self, key: str, path: Path, where: str | None):
        stamp = _stamp(path)
        cached = self._runs.get(key)
        if cached is not None and cached[0] == stamp and cached[2]["status"] not in ("running", "incomplete"):
            return cached[1], cached[2]
        try:
            record, problems = read_run_partial(path)
            page = run_page(key, record, problems, where)
        except Exception as exc:  # whatever a damaged directory holds, the page says so in one line
            record = RunRecord(path, {}, pd.DataFrame(), {"status": "unreadable"})
            page = run_page(key, record, [f"{path.name}: {type(exc).__name__}: {one_line(exc)}"], where)
        self._runs[key] = (stamp, record, page)
        return record, page

    def _build(self, found: Found) -> dict[str, Any]:
        where: dict[str, str] = {}
        for skey in found.sweeps:
            for rkey in found.runs:
                if rkey.startswith(skey + "/trials/"):
                    where[rkey] = skey
        records, pages = {}, {}
        for key, path in found.runs.items():
            records[key], pages[key] = self._run(key, path, where.get(key))
        for key in list(self._runs):
            if key not in found.runs:
                del self._runs[key]
        model: dict[str, Any] = {
            "generator": f"nnctl {__version__}",
            "created": time.strftime("%Y-%m-%d %H:%M:%S"),
            "root": str(found.root),
            "live": self.live,
            "notes": found.notes,
            "runs": pages,
            "table": runs_table(records, pages),
            "sweeps": {},
            "experiments": {},
            "lrfinds": {key: _guarded(key, path, lrfind_page, key, path) for key, path in found.lrfinds.items()},
        }
        for key, path in found.sweeps.items():
            model["sweeps"][key] = _guarded(key, path, self._sweep, key, path, records, pages)
        for key, path in found.experiments.items():
            inside = [s for s in found.sweeps if s.startswith(key + "/")]
            model["experiments"][key] = _guarded(key, path, experiment_page, key, path, found.key, records, inside)
        return model

    def _sweep(self, key: str, path: Path, records, pages) -> dict[str, Any]:
        doc, frame, problems = read_sweep_partial(path)
        mine = {k: records[k] for k in records if k.startswith(key + "/trials/")}
        trial_keys = {k.rsplit("/", 1)[-1]: k for k in mine}
        spec = (doc or {}).get("spec") or {}
        axes = list((spec.get("params") or {}).keys()) + (["seed"] if int(spec.get("repeats") or 1) > 1 else [])
        table = runs_table(mine, {k: pages[k] for k in mine}, keys=axes)
        listed = (doc or {}).get("trials") or []
        rows = {str(r.get("trial_id")): r for r in frame.to_dict("records")} if len(frame) else {}
        for entry in listed:
            tid = str(entry.get("trial_id"))
            if tid not in trial_keys:
                status = str(rows.get(tid, {}).get("status") or "pending")
                table["rows"].append(
                    {
                        "key": None,
                        "run": tid,
                        "where": key,
                        "status": status,
                        "values": {a: (entry.get("params") or {}).get(a) for a in axes},
                        "best": None,
                        "best_epoch": None,
                        "final": None,
                        "test": None,
                        "epochs": None,
                        "seconds": None,
                        "warnings": 0,
                        "warning_text": [],
                        "fit": None,
                        "problems": [],
                    }
                )
        return sweep_page(key, doc, frame, problems, trial_keys, records, pages, table)


def _guarded(key: str, path: Path, build, *args: Any) -> dict[str, Any]:
    """``build(*args)``, or where building the page failed on what a directory holds, a page saying so
    in one line."""
    try:
        return build(*args)
    except Exception as exc:
        return {
            "key": key,
            "id": path.name,
            "problems": [f"{path.name}: {type(exc).__name__}: {one_line(exc)}"],
            "broken": True,
        }


def build_model(items: list[str] | None = None, results_dir: str | os.PathLike = "results") -> dict[str, Any]:
    """The page model of ``items`` (run/sweep/experiment dirs or ids, globs; default all of ``results_dir``)."""
    return ModelBuilder(items, results_dir).model()


def _compact(value: Any) -> Any:
    """JSON-ready: floats to 6 significant digits, NaN and infinities as null, tuples as lists."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        return float(f"{value:.6g}")
    if isinstance(value, dict):
        return {str(k): _compact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_compact(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # NumPy scalars
        return _compact(value.item())
    return str(value)


def to_json(model: dict[str, Any]) -> str:
    """The model as compact JSON text."""
    return json.dumps(_compact(model), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
