"""Experiment files: a claim from the lecture notes, the sweep that tests it, and an expectation.

An experiment is a TOML file::

    name = "zero-init-symmetry"
    claim = "Zero initialization never breaks symmetry"
    hypothesis = "If all the weights are initialized with 0 ... (quoted from the notes)"
    source = "lecture notes 000, 'Initialization is extremely important'"
    expect = "val_acc[init=he_normal] > val_acc[init=zeros] + 0.3"
    metric = "val_acc"              # the curve(s) to plot in the report, or a list such as
                                    # ["train_loss", "val_loss"] (optional)
    repeats = 3                     # sweep settings, as in a sweep spec file
    [base]                          # run options shared by every trial
    model = "mlp:64"
    [params]                        # the factor in question
    init = ["zeros", "he_normal"]
    [fast]                          # what --fast changes: top-level keys and a [fast.base] table
    repeats = 2
    [fast.base]
    epochs = 5

Several sweeps (for example grid against random search) go in ``[sweeps.<label>]`` tables, each a
sweep spec of its own (``kind``, ``params``, ``trials``, ``base`` added to the shared base); the
expectation filters them with ``[sweep=<label>]``. Files are parsed as data, never executed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, DataError, NnctlError, suggestion
from ..core.registry import quoted, shown
from ..training.config import read_table_file
from .expect import Expectation

TOP_KEYS = {
    "name",
    "claim",
    "hypothesis",
    "source",
    "expect",
    "metric",
    "kind",
    "repeats",
    "trials",
    "sweep_seed",
    "zip",
    "base",
    "params",
    "sweeps",
    "fast",
    "notes",
}
SWEEP_KEYS = {"kind", "repeats", "trials", "sweep_seed", "zip", "base", "params"}


@dataclass
class Experiment:
    """A parsed experiment file."""

    path: Path
    name: str
    claim: str
    hypothesis: str
    source: str
    expect: Expectation
    metrics: list[str]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    def sweeps(self, fast: bool = False) -> dict[str, tuple[str, dict[str, Any]]]:
        """label → (kind, sweep spec) with the shared base merged in and --fast applied."""
        raw = copy.deepcopy(self.raw)
        if fast:
            extra = raw.get("fast") or {}
            for key, value in extra.items():
                if key == "base":
                    raw["base"] = {**(raw.get("base") or {}), **value}
                elif key == "sweeps":
                    for label, spec in value.items():
                        target = raw.setdefault("sweeps", {}).setdefault(label, {})
                        for k, v in spec.items():
                            both = isinstance(v, dict) and isinstance(target.get(k, {}), dict)
                            target[k] = {**target.get(k, {}), **v} if both else v
                else:
                    raw[key] = value
        base = self._resolve_data(dict(raw.get("base") or {}))
        tables = raw.get("sweeps") or {"main": {k: raw[k] for k in SWEEP_KEYS if k in raw and k != "base"}}
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for label, spec in tables.items():
            spec = dict(spec)
            kind = spec.pop("kind", raw.get("kind", "grid"))
            for key in ("repeats", "trials", "sweep_seed"):
                if key not in spec and key in raw and "sweeps" in raw:
                    spec[key] = raw[key]
            spec["base"] = {**base, **(spec.get("base") or {})}
            spec["name"] = f"{self.name}-{label}" + ("-fast" if fast else "")
            out[label] = (kind, spec)
        return out

    def _resolve_data(self, base: dict[str, Any]) -> dict[str, Any]:
        """A relative data file named in the experiment is looked up beside the experiment file."""
        data = base.get("data")
        if isinstance(data, str) and data.endswith((".csv", ".npz")) and not Path(data).is_absolute():
            beside = self.path.parent / data
            if beside.is_file():
                base["data"] = str(beside.resolve())
        return base


def read_experiment(path: str | Path) -> Experiment:
    """Parse and check an experiment file (the expectation is parsed, nothing is run)."""
    path = Path(path)
    raw = read_table_file(path, "experiment file")
    _check_keys(path, "", raw, TOP_KEYS)
    for key in ("name", "claim", "hypothesis", "expect"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"experiment file '{path}' needs a non-empty string '{key}'")
    for key in ("source", "notes"):
        if key in raw and not isinstance(raw[key], str):
            raise ConfigError(f"experiment file '{path}': '{key}' must be a string, got {type(raw[key]).__name__}")
    metrics = raw.get("metric", "val_acc")
    metrics = [metrics] if isinstance(metrics, str) else metrics
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) and m for m in metrics):
        raise ConfigError(
            f"experiment file '{path}': 'metric' must be a curve.csv column or a list of them, "
            f"got {shown(raw.get('metric'))}"
        )
    _check_sweep(path, "", raw)
    for label, spec in _table(path, "sweeps", raw.get("sweeps")).items():
        _check_keys(path, f"sweeps.{shown(label)}", spec, SWEEP_KEYS)
        _check_sweep(path, f"sweeps.{shown(label)}.", spec)
    fast = _table(path, "fast", raw.get("fast"))
    _check_keys(path, "fast", fast, SWEEP_KEYS | {"sweeps"})
    _check_sweep(path, "fast.", fast)
    for label, spec in _table(path, "fast.sweeps", fast.get("sweeps")).items():
        _check_keys(path, f"fast.sweeps.{shown(label)}", spec, SWEEP_KEYS)
        _check_sweep(path, f"fast.sweeps.{shown(label)}.", spec)
    return Experiment(
        path=path,
        name=raw["name"],
        claim=raw["claim"].strip(),
        hypothesis=" ".join(raw["hypothesis"].split()),
        source=str(raw.get("source", "")),
        expect=Expectation(raw["expect"]),
        metrics=list(metrics),
        raw=raw,
    )


def _table(path: Path, where: str, value: Any) -> dict[str, Any]:
    """``value`` when it is a table (None counts as an empty one), else a ConfigError naming ``where``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(
            f"experiment file '{path}': '{where}' must be a table ([{where}]), got {type(value).__name__}"
        )
    return value


def _check_keys(path: Path, where: str, table: Any, allowed: set[str]) -> None:
    """Every key of ``table`` is allowed; an unknown one is named with the closest valid key."""
    table = _table(path, where or "(top level)", table)
    for key in sorted(set(table) - allowed):
        place = f" in [{where}]" if where else ""
        raise ConfigError(
            f"experiment file '{path}': unknown key {quoted(key)}{place}; valid: {', '.join(sorted(allowed))}"
            + suggestion(key, allowed)
        )


def _check_sweep(path: Path, prefix: str, spec: dict[str, Any]) -> None:
    """The sweep settings that must be tables (``base``, ``params``) are tables."""
    for key in ("base", "params"):
        _table(path, prefix + key, spec.get(key))


#: the experiments that ship with nnctl (the lecture notes' claims)
LIBRARY = Path(__file__).resolve().parent / "library"
#: where a user's own experiment files go (looked up before the library)
USER_FOLDER = Path("experiments")


def find_experiment(name_or_path: str | Path) -> Experiment:
    """An experiment file by path, or by name (``zero_init_symmetry``, ``zero-init-symmetry``) in
    ./experiments and then in the experiments that ship with nnctl."""
    path = Path(name_or_path)
    if path.exists() or path.suffix == ".toml" or len(path.parts) > 1:
        return read_experiment(path)
    stem = str(name_or_path).replace("-", "_")
    for folder in (USER_FOLDER, LIBRARY):
        candidate = folder / f"{stem}.toml"
        if candidate.is_file():
            return read_experiment(candidate)
    names = sorted(
        {
            p.stem
            for folder in (USER_FOLDER, LIBRARY)
            if folder.is_dir()
            for p in folder.glob("*.toml")
            if _is_experiment(p)
        }
    )
    raise DataError(f"unknown experiment '{name_or_path}'; experiments: {', '.join(names)}" + suggestion(stem, names))


def _is_experiment(path: Path) -> bool:
    try:
        text = read_table_file(path, "experiment file")
    except NnctlError:
        return False
    return "claim" in text and "expect" in text


def list_experiments(folder: str | Path) -> list[Experiment]:
    """Every experiment file in ``folder`` (files that are plain sweep specs are skipped)."""
    return [read_experiment(path) for path in sorted(Path(folder).glob("*.toml")) if _is_experiment(path)]
