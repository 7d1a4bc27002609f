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
from typing import Any

import pandas as pd

from ..core.activations import ACTIVATIONS
from ..core.errors import ConfigError
from ..results.experiments import trial_frames
from ..search import build_space, run_sweep
from ..search.sweep import SweepCallback
from .expect import Selector, Term, matches
from .spec import Experiment


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
    """An experiment's verdict and the numbers behind it."""

    experiment: Experiment
    supported: bool
    effect: float | None
    terms: list[Term]
    trials: list[TrialRecord]
    sweeps: dict[str, Path]
    fast: bool

    @property
    def verdict(self) -> str:
        return "SUPPORTED" if self.supported else "NOT SUPPORTED"


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
    supported, terms = exp.expect.evaluate(lambda sel: lookup(trials, sel))
    return Outcome(exp, supported, exp.expect.effect(terms), terms, trials, sweeps, fast)


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
            value = t.metrics.get(sel.metric, t.options.get(sel.metric))
            values.append(value if isinstance(value, (int, float)) else math.nan)
    return values


def _diagnostic(trial: TrialRecord, sel: Selector) -> float:
    _, diag = trial.frames()
    if diag is None or diag.empty:
        raise ConfigError(f"{sel.text()}: the trials have no diagnostics; set diagnostics = true in [base]")
    name = sel.metric[len("diag_"):]
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
