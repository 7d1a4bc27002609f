"""Running an experiment through the sweep machinery and judging its expectation.

Each of the experiment's sweeps runs as an ordinary (resumable) sweep inside the experiment's
results directory. Every finished trial becomes one row of options and metrics; the expectation's
selectors read from those rows, from each trial's ``curve.csv`` (``metric@epoch``) and from its
``diagnostics.csv`` (``diag_<stat>``: the largest value over layers; ``diag_<stat>_first`` /
``diag_<stat>_last``: the first/last hidden layer that has the statistic; always at an epoch, e.g.
``diag_saturated@0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from ..core.layers.activations import ACTIVATIONS
from ..results.experiments import trial_frames
from ..results.formatting import value_label
from ..results.store import sanitize_name
from ..search import build_space, run_sweep
from ..search.sweep import SweepCallback
from .expect import Selector, Term, matches
from .spec import Experiment
from .verdict import SUPPORTED, Judgement, judge

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class TrialRecord:
    """One finished trial: its options (with the sweep label) and metrics, and where its files are."""

    options: dict[str, Any]
    metrics: dict[str, Any]
    path: Path | None
    _curve: pd.DataFrame | None = field(default=None, repr=False)
    _diag: pd.DataFrame | None = field(default=None, repr=False)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        if self._curve is None:
            self._curve, self._diag = trial_frames(self.path)
        return self._curve, self._diag


@dataclass
class Outcome:
    """An experiment's verdict (judged against the seed noise) and the numbers behind it."""

    experiment: Experiment
    judgement: Judgement
    terms: list[Term]
    trials: list[TrialRecord]
    sweeps: dict[str, Path]
    fast: bool

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    @property
    def supported(self) -> bool:
        return self.judgement.verdict == SUPPORTED

    @property
    def effect(self) -> float | None:
        return self.judgement.effect

    @property
    def seeds(self) -> int:
        return len({t.options.get("seed") for t in self.trials})

    def groups(self) -> list[tuple[str, list[TrialRecord]]]:
        """The trials of each point (its seeds together), labelled by the point's axis values."""
        axes = {label: list(spec.get("params") or {}) for label, (_, spec) in self.experiment.sweeps(self.fast).items()}
        groups: dict[str, list[TrialRecord]] = {}
        for trial in self.trials:
            sweep = trial.options["sweep"]
            label = ", ".join(f"{k}={value_label(trial.options.get(k))}" for k in axes.get(sweep, []))
            if len(self.sweeps) > 1:
                label = f"{sweep}: {label}" if label else sweep
            groups.setdefault(label, []).append(trial)
        return list(groups.items())


def experiment_folder(results_dir: str | Path, exp: Experiment, fast: bool) -> Path:
    """Where an experiment's sweeps and report go: ``<results_dir>/<name>[-fast]``."""
    folder = Path(results_dir) / ((sanitize_name(exp.name) or "experiment") + ("-fast" if fast else ""))
    if folder.is_symlink():
        raise ConfigError(
            f"'{folder}' is a symbolic link; an experiment's folder must be a directory inside --results-dir"
        )
    return folder


def run_experiment(
    exp: Experiment,
    executor,
    *,
    results_dir: str | Path = "results",
    fast: bool = False,
    callbacks: list[SweepCallback] | None = None,
) -> Outcome:
    """Run (or resume) every sweep of ``exp`` under ``results_dir`` and evaluate its expectation."""
    trials: list[TrialRecord] = []
    sweeps: dict[str, Path] = {}
    for label, (kind, spec) in exp.sweeps(fast).items():
        spec = dict(spec)
        spec["base"] = {**spec["base"], "results_dir": str(results_dir)}
        space = build_space(kind, spec)
        state = run_sweep(space, executor, callbacks=callbacks)
        if state.interrupted:
            raise KeyboardInterrupt
        sweeps[label] = state.path
        for trial in state.trials:
            row = state.rows[trial.trial_id]
            if row.get("status") not in ("completed", "early_stopped", "diverged"):
                continue
            options = {**trial.config, **trial.params, "sweep": label}
            trials.append(TrialRecord(options, row, state.path / "trials" / trial.trial_id))
    if not trials:
        raise ConfigError(f"experiment '{exp.name}': no trial finished, so the expectation cannot be judged")
    _, terms = exp.expect.evaluate(lambda sel: lookup(trials, sel))
    judgement = judge(exp.expect, lambda sel: lookup_by_seed(trials, sel))
    return Outcome(exp, judgement, terms, trials, sweeps, fast)


def lookup_by_seed(trials: list[TrialRecord], sel: Selector) -> dict[Any, list[float]]:
    """The selector's values grouped by the trials' seeds (``None`` for a count of distinct values,
    which does not vary with the seed)."""
    if sel.distinct:
        return {None: lookup(trials, sel)}
    chosen = [t for t in trials if matches(t.options, sel.filters)]
    out: dict[Any, list[float]] = {}
    for trial, value in zip(chosen, lookup(chosen, Selector(sel.metric, {}, sel.epoch, sel.aggregate))):
        out.setdefault(trial.options.get("seed"), []).append(float(value) if value is not None else math.nan)
    return out


def lookup(trials: list[TrialRecord], sel: Selector) -> list[Any]:
    """The values a selector stands for, one per matching trial (or the option values for distinct)."""
    chosen = [t for t in trials if matches(t.options, sel.filters)]
    if sel.distinct:
        return [t.options.get(sel.metric) for t in chosen]
    values = []
    for t in chosen:
        if sel.metric.startswith("diag_"):
            values.append(_diagnostic(t, sel))
        elif sel.epoch is not None:
            curve, _ = t.frames()
            rows = curve[curve["epoch"] == sel.epoch] if "epoch" in curve else curve.iloc[0:0]
            values.append(float(rows[sel.metric].iloc[0]) if len(rows) and sel.metric in rows else math.nan)
        else:
            if sel.metric not in t.metrics and sel.metric not in t.options:
                known = ", ".join(
                    k for k, v in t.metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                )
                raise ConfigError(
                    f"{sel.text()}: '{sel.metric}' is not a metric of the returned model (metrics.csv has: {known}); "
                    f"a curve.csv column needs an epoch, e.g. {sel.metric}@5"
                )
            value = t.metrics.get(sel.metric, t.options.get(sel.metric))
            values.append(value if isinstance(value, (int, float)) else math.nan)
    return values


def _diagnostic(trial: TrialRecord, sel: Selector) -> float:
    _, diag = trial.frames()
    if diag is None or diag.empty:
        raise ConfigError(f"{sel.text()}: the trials have no diagnostics; set diagnostics = true in [base]")
    name = sel.metric[len("diag_") :]
    position = None
    for suffix in ("_first", "_last"):
        if name.endswith(suffix):
            name, position = name[: -len(suffix)], suffix[1:]
    epoch = 0 if sel.epoch is None else sel.epoch
    rows = diag[(diag["epoch"] == epoch) & (diag["stat"] == name)]
    if rows.empty:
        return math.nan
    if position is None:
        return float(rows["value"].max())
    hidden = rows[rows["layer"] != "model"]
    if name.startswith("act_"):  # the outputs of activation layers: the hidden representations
        kinds = hidden["layer"].str.split(":").str[1]
        hidden = hidden[kinds.isin(ACTIVATIONS.names(include_aliases=True))]
    if hidden.empty:
        return math.nan
    return float(hidden["value"].iloc[0 if position == "first" else -1])
