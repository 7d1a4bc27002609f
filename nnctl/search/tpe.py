"""Model-based search: the Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011), by Optuna.

TPE splits the points tried so far into the better fraction γ and the rest, models each set with
Parzen (kernel) densities l(x) and g(x) per axis, and proposes the candidate that maximizes
l(x)/g(x), which is the expected improvement. It proposes where good points were dense and bad
ones sparse. The first ``startup`` points are drawn at random. nnctl does not implement TPE; it asks
Optuna's ``TPESampler`` through its ask-and-tell interface (``pip install 'nnctl[search]'``).

Proposals are a pure function of the sweep seed, the point's position and the history. Point i
belongs to batch b = i // ``batch`` and is proposed by a sampler seeded with (sweep_seed, i) from
the finished points of batches before b only, told to Optuna in order. A batch's points can
therefore train in parallel, and the sweep waits for a batch to end before it proposes the next.
The history is rebuilt from the trials on disk, so the same sweep seed gives the same points with
any number of workers, on Dask, and after a kill and ``nnctl sweep resume``.

Axes: ``uniform`` and ``loguniform`` become float distributions (log-scaled for loguniform),
``int`` integer ones, ``choice`` and lists of values categorical ones over the values' positions.
Zipped axes are one categorical over their rows. A pruned point enters the history as pruned, with
the values it reported at its rungs (TPE counts it among the bad ones).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.errors import ConfigError
from .distributions import Distribution, round_draw

if TYPE_CHECKING:
    from .space import SearchSpace

INSTALL = "pip install 'nnctl[search]'"


def require_optuna():
    """The optuna module, or one line naming the install."""
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"nnctl sweep tpe needs Optuna, which is not installed; install it with: {INSTALL}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


@dataclass
class Finished:
    """A point of the history: its axis values, and its score (mean over its seeds) or how it
    ended (``state``: complete, pruned or failed; ``steps``: the pruned point's rung values)."""

    point: dict[str, Any]
    state: str
    value: float | None = None
    steps: dict[int, float] = field(default_factory=dict)


def check_space(space: SearchSpace) -> None:
    """TPE models distributions; a space of lists only has nothing to model."""
    if not any(isinstance(v, Distribution) and v.kind != "choice" for v in space.params.values()):
        raise ConfigError(
            "sweep tpe models ranges of values, but every axis is a list or a choice; give at least "
            "one range (e.g. -p lr=loguniform:1e-4:1e-1), or use sweep grid or random"
        )


def _distributions(optuna, space: SearchSpace) -> dict[str, Any]:
    d = optuna.distributions
    out: dict[str, Any] = {}
    for group in space.groups():
        values = space.params[group[0]]
        name = "|".join(group)
        if isinstance(values, Distribution) and values.kind == "uniform":
            out[name] = d.FloatDistribution(values.low, values.high)
        elif isinstance(values, Distribution) and values.kind == "loguniform":
            out[name] = d.FloatDistribution(values.low, values.high, log=True)
        elif isinstance(values, Distribution) and values.kind == "int":
            out[name] = d.IntDistribution(int(values.low), int(values.high))
        else:
            n = len(values.values) if isinstance(values, Distribution) else len(values)
            out[name] = d.CategoricalDistribution(list(range(n)))
    return out


def _to_optuna(space: SearchSpace, point: dict[str, Any]) -> dict[str, Any]:
    """A point's axis values as the Optuna parameters of :func:`_distributions`."""
    out: dict[str, Any] = {}
    for group in space.groups():
        values = space.params[group[0]]
        name = "|".join(group)
        if isinstance(values, Distribution) and values.kind != "choice":
            out[name] = point[group[0]]
        else:
            options = values.values if isinstance(values, Distribution) else values
            out[name] = next(i for i, v in enumerate(options) if v == point[group[0]])
    return out


def _from_optuna(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    point: dict[str, Any] = {}
    for group in space.groups():
        values = space.params[group[0]]
        raw = params["|".join(group)]
        if isinstance(values, Distribution) and values.kind in ("uniform", "loguniform"):
            point[group[0]] = min(max(round_draw(float(raw)), values.low), values.high)  # as random search rounds
        elif isinstance(values, Distribution) and values.kind == "int":
            point[group[0]] = int(raw)
        elif isinstance(values, Distribution):
            point[group[0]] = values.values[int(raw)]
        else:
            point.update({name: space.params[name][int(raw)] for name in group})
    return point


def propose(
    space: SearchSpace,
    index: int,
    history: list[Finished],
    *,
    higher_better: bool,
    batch: int = 4,
    startup: int = 10,
) -> dict[str, Any]:
    """Point ``index`` of a TPE sweep over ``space``, from ``history``: the points of the batches
    before ``index // batch``, in order (see the module docstring)."""
    optuna = require_optuna()
    expected = (index // batch) * batch
    if len(history) != expected:
        raise ValueError(f"point {index} is proposed from the {expected} points before its batch, got {len(history)}")
    distributions = _distributions(optuna, space)
    seed = int(np.random.SeedSequence([space.sweep_seed, index]).generate_state(1)[0])
    with warnings.catch_warnings():  # multivariate TPE is marked experimental; it models axes jointly
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True)
    study = optuna.create_study(direction="maximize" if higher_better else "minimize", sampler=sampler)
    states = optuna.trial.TrialState
    for done in history:
        state = {"complete": states.COMPLETE, "pruned": states.PRUNED}.get(done.state, states.FAIL)
        study.add_trial(
            optuna.trial.create_trial(
                params=_to_optuna(space, done.point),
                distributions=distributions,
                value=done.value if state == states.COMPLETE else None,
                intermediate_values=dict(done.steps),
                state=state,
            )
        )
    trial = study.ask(distributions)
    return _from_optuna(space, trial.params)
