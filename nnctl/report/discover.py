"""Finding what a report shows: runs, sweeps, experiments and range tests under some paths.

A directory is recognized by the files nnctl writes into it:

- an **experiment** folder holds ``outcome.json`` (or, written before it existed, ``report.md``
  beside a sweep directory); its sweeps lie inside it;
- a **sweep** holds ``sweep.json``; its trials are the run directories in ``trials/``;
- an **lr-find** directory holds ``lr_find.json`` or ``lr_find.csv`` and no ``config.json``;
- a **run** holds ``config.json``, ``curve.csv`` or ``metrics.csv`` (a run whose config is
  missing or broken is still a run, shown with what can be read), or is a directory named like a
  run id holding nothing yet (a run killed before it wrote its config.json), as
  :func:`nnctl.results.artifacts.is_run_dir` recognizes them.

Hidden directories (a sweep's temporaries of trials being written) and symbolic links are not
followed, so nothing outside the given paths is read.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import DataError
from ..results.artifacts import is_run_dir
from ..results.compare import resolve_runs


@dataclass
class Found:
    """Directories by kind, each with the key the pages name it by (its path below ``root``)."""

    root: Path
    runs: dict[str, Path] = field(default_factory=dict)
    sweeps: dict[str, Path] = field(default_factory=dict)
    experiments: dict[str, Path] = field(default_factory=dict)
    lrfinds: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def key(self, path: Path) -> str:
        try:
            return Path(os.path.relpath(path, self.root)).as_posix()
        except ValueError:  # another drive (Windows)
            return path.as_posix()


def kind_of(path: Path) -> str | None:
    """``experiment``, ``sweep``, ``lrfind``, ``run`` or None for a directory nnctl did not write."""
    if (path / "outcome.json").is_file():
        return "experiment"
    if (path / "sweep.json").is_file():
        return "sweep"
    if (path / "report.md").is_file() and any((child / "sweep.json").is_file() for child in _children(path)):
        return "experiment"
    if not (path / "config.json").is_file() and ((path / "lr_find.json").is_file() or (path / "lr_find.csv").is_file()):
        return "lrfind"
    if is_run_dir(path):
        return "run"
    return None


def _children(path: Path) -> list[Path]:
    try:
        return sorted(p for p in path.iterdir() if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    except OSError:
        return []


def _walk(path: Path, found: Found) -> int:
    """Record ``path`` and what lies below it; returns how many directories were recognized."""
    kind = kind_of(path)
    key = found.key(path)
    if kind == "run":
        found.runs.setdefault(key, path)
        return 1
    if kind == "lrfind":
        found.lrfinds.setdefault(key, path)
        return 1
    count = 0
    if kind == "sweep":
        found.sweeps.setdefault(key, path)
        count += 1
        for trial in _children(path / "trials"):
            found.runs.setdefault(found.key(trial), trial)
            count += 1
        children = [c for c in _children(path) if c.name != "trials"]
    else:
        if kind == "experiment":
            found.experiments.setdefault(key, path)
            count += 1
        children = _children(path)
    for child in children:
        count += _walk(child, found)
    return count


def _common_root(paths: list[Path], results_dir: Path) -> Path:
    resolved = [p.resolve() for p in paths]
    base = results_dir.resolve()
    if all(base == p or base in p.parents for p in resolved):
        return results_dir
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return common if len(paths) > 1 or common != resolved[0] else common.parent


def discover(items: list[str] | None, results_dir: str | os.PathLike = "results") -> Found:
    """What ``items`` name (paths, globs, run or sweep ids under ``results_dir``; nothing: all of
    ``results_dir``). A name that matches nothing is a DataError; a path with nothing nnctl wrote
    is a note on the page."""
    results_dir = Path(results_dir)
    paths: list[Path] = []
    for item in items or []:
        text = str(item)
        if any(ch in text for ch in "*?["):
            hits = sorted(set(glob.glob(text)) | set(glob.glob(str(results_dir / text))))
            if not hits:
                raise DataError(f"no directory matches '{text}'")
            paths += [Path(h) for h in hits if Path(h).is_dir()]
        elif Path(text).is_dir():
            paths.append(Path(text))
        elif (results_dir / text).is_dir():
            paths.append(results_dir / text)
        else:  # a run id, a trial id, a run's --name, a sweep's name: as compare-runs finds them
            paths += resolve_runs([text], results_dir)
    if not items:
        if not results_dir.is_dir():
            raise DataError(f"results directory '{results_dir}' does not exist; pass runs or sweeps, or --results-dir")
        paths = [results_dir]
    found = Found(_common_root(paths, results_dir))
    for path in paths:
        if _walk(path, found) == 0:
            found.notes.append(f"nothing nnctl wrote was found under '{path}'")
    return found
