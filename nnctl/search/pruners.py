"""Early termination of bad trials: successive halving, ASHA and Hyperband, decided at rung epochs.

A *rung* is an epoch at which a trial is judged: with a minimum of ``r`` epochs and a reduction
factor ``η``, rung k is epoch r·η^k (1, 3, 9, 27, … for r = 1, η = 3), up to the sweep's last epoch.
At a rung, a trial is compared on the monitored validation metric (``--monitor``, val_loss by
default) with the values that the *trials before it* in the sweep's order had at the same rung,
and goes on only if it is among the best ⌊k/η⌋ of those k values (itself included; at least the
best one goes on). That is the rule of asynchronous successive halving (Li et al., "A System for
Massively Parallel Hyperparameter Tuning", MLSys 2020) and of Optuna's SuccessiveHalvingPruner:
about one trial in η survives each rung, so most of the budget goes to the promising ones.

Decided in sweep order. A trial's decision waits until every earlier trial (of its bracket) has
reached the rung or ended; it never depends on which worker was faster. So a pruned sweep gives the
same trials, the same decisions and the same curves with 1 or 8 workers, locally or on Dask, and
after a resume (the values at each rung are read back from the curves on disk).

- ``asha:min_epochs=1,factor=3``: the rule above.
- ``halving:min_epochs=1,factor=3,bootstrap=3``: the same rule, but at each rung the first
  ``bootstrap`` trials all go on, as they would in the first round of synchronous successive
  halving (Jamieson and Talwalkar, 2016): no trial is judged against one or two values alone.
- ``hyperband:min_epochs=1,factor=3,brackets=0``: Hyperband (Li et al., JMLR 2018) hedges the
  choice of the minimum: trial i runs in bracket s = i mod B, whose first rung is r·η^s, and is
  compared with the trials of its bracket only. ``brackets=0`` uses every bracket that has a rung
  below the last epoch, B = ⌊log_η(epochs / r)⌋ + 1 … capped so that each bracket has a rung.

A NaN or infinite value at a rung prunes the trial.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigError
from ..core.registry import Component, Registry, check_int, check_range

if TYPE_CHECKING:
    from .space import SearchSpace

PRUNERS = Registry("pruner")


@dataclass(frozen=True)
class Decision:
    """What a pruner says about a trial at a rung: go on, or stop (with why)."""

    prune: bool
    rung: int
    epoch: int
    rank: int = 0  # the trial's place among the values it was compared with (1 = best)
    compared: int = 0  # how many values, itself included
    kept: int = 0  # how many of them go on

    def reason(self, monitor: str) -> str:
        return (
            f"pruned at epoch {self.epoch} (rung {self.rung}): {monitor} ranked {self.rank} of "
            f"{self.compared} trials there; the best {self.kept} went on"
        )


class Pruner(Component):
    """Base of the pruners: rung epochs, brackets, and the successive-halving rule."""

    def __init__(self, min_epochs: int = 1, factor: int = 3):
        self.min_epochs = check_int(self.name, "min_epochs", min_epochs, 1)
        self.factor = check_int(self.name, "factor", factor, 2, 100)

    # --- where trials are judged ------------------------------------------------------------------
    def n_brackets(self, epochs: int) -> int:
        return 1

    def bracket(self, index: int, epochs: int) -> int:
        """The bracket of the trial at position ``index`` of the sweep."""
        return index % self.n_brackets(epochs)

    def rungs(self, epochs: int, bracket: int = 0) -> list[int]:
        """The rung epochs of ``bracket``: min_epochs·factor^(bracket+k) below ``epochs``."""
        out, k = [], 0
        while (epoch := self.min_epochs * self.factor ** (bracket + k)) < epochs:
            out.append(epoch)
            k += 1
        return out

    def check(self, epochs: int, has_validation: bool) -> None:
        """One line when the pruner cannot work on runs of ``epochs`` epochs."""
        if not has_validation:
            raise ConfigError(
                f"--prune {self.spec()} decides on the validation metric, but the runs have no "
                "validation split; set val_split > 0"
            )
        if not self.rungs(epochs):
            raise ConfigError(
                f"--prune {self.spec()}: its first rung (epoch {self.min_epochs}) is not before the "
                f"last epoch ({epochs}); use min_epochs < {epochs} or more --epochs"
            )

    # --- the rule ------------------------------------------------------------------------------------
    def decide(self, rung: int, epoch: int, value: float, earlier: Sequence[float], higher_better: bool) -> Decision:
        """Judge ``value`` at ``rung`` against the ``earlier`` trials' values there (see the module)."""
        if not math.isfinite(value):
            return Decision(True, rung, epoch, len(earlier) + 1, len(earlier) + 1, 0)
        values = [v for v in earlier if math.isfinite(v)] + [value]
        kept = max(len(values) // self.factor, 1)
        better = sum(1 for v in values if (v > value if higher_better else v < value))
        rank = better + 1
        if len(values) <= self.bootstrap_count():
            return Decision(False, rung, epoch, rank, len(values), len(values))
        return Decision(rank > kept, rung, epoch, rank, len(values), kept)

    def bootstrap_count(self) -> int:
        return 0


@PRUNERS.register("asha")
class ASHA(Pruner):
    """Asynchronous successive halving (Li et al. 2020): keep the best 1/factor at each rung.

    At rung k (epoch min_epochs·factor^k) a trial goes on only among the best ⌊n/factor⌋ of the n
    trials so far at that rung."""

    def __init__(self, min_epochs: int = 1, factor: int = 3):
        super().__init__(min_epochs, factor)


@PRUNERS.register("halving", "successive_halving")
class SuccessiveHalving(Pruner):
    """Successive halving (Jamieson and Talwalkar 2016): ASHA once bootstrap trials passed a rung.

    The ASHA rule, after the first ``bootstrap`` trials at each rung have all gone on."""

    def __init__(self, min_epochs: int = 1, factor: int = 3, bootstrap: int = 3):
        super().__init__(min_epochs, factor)
        self.bootstrap = check_int(self.name, "bootstrap", bootstrap, 0)

    def bootstrap_count(self) -> int:
        return self.bootstrap


@PRUNERS.register("hyperband")
class Hyperband(Pruner):
    """Hyperband (Li et al. 2018): successive halving in brackets that start at different epochs.

    Bracket s has its first rung at min_epochs·factor^s; trial i is in bracket i mod brackets
    (brackets=0: as many brackets as fit the epochs)."""

    def __init__(self, min_epochs: int = 1, factor: int = 3, brackets: int = 0):
        super().__init__(min_epochs, factor)
        self.brackets = check_int(self.name, "brackets", brackets, 0, 32)

    def n_brackets(self, epochs: int) -> int:
        fit = 0
        while self.min_epochs * self.factor**fit < epochs:
            fit += 1
        return max(1, min(self.brackets, fit) if self.brackets else fit)


def make_pruner(spec: str) -> Pruner:
    """The pruner a ``--prune`` spec names (one line listing the pruners for an unknown name)."""
    return PRUNERS.get(spec)  # type: ignore[return-value]


@dataclass
class RungBoard:
    """The values trials reported at their rungs, by bracket and rung, in sweep order: what a
    pruner compares against. ``done`` holds the trials that will report nothing more."""

    pruner: Pruner
    epochs: int
    higher_better: bool

    def __post_init__(self) -> None:
        self.values: dict[tuple[int, int], dict[int, float]] = {}
        self.done: set[int] = set()

    def record(self, index: int, epoch: int, value: float) -> int | None:
        """Note trial ``index``'s value at ``epoch``; returns the rung when ``epoch`` is one."""
        bracket = self.pruner.bracket(index, self.epochs)
        rungs = self.pruner.rungs(self.epochs, bracket)
        if epoch not in rungs:
            return None
        rung = rungs.index(epoch)
        self.values.setdefault((bracket, rung), {})[index] = value
        return rung

    def awaited(self, index: int, rung: int) -> list[int]:
        """The earlier trials of ``index``'s bracket that have neither reached ``rung`` nor ended:
        the decision at ``rung`` waits for them."""
        bracket = self.pruner.bracket(index, self.epochs)
        at = self.values.get((bracket, rung), {})
        return [
            j
            for j in range(index)
            if self.pruner.bracket(j, self.epochs) == bracket and j not in at and j not in self.done
        ]

    def decide(self, index: int, rung: int) -> Decision:
        bracket = self.pruner.bracket(index, self.epochs)
        at = self.values[(bracket, rung)]
        earlier = [v for j, v in sorted(at.items()) if j < index]
        epoch = self.pruner.rungs(self.epochs, bracket)[rung]
        return self.pruner.decide(rung, epoch, at[index], earlier, self.higher_better)


def set_pruning(space: SearchSpace, raw: dict[str, Any]) -> None:
    """``prune`` (a pruner spec, checked against the base run's epochs and validation split) and
    ``audit`` (a fraction in [0, 1], only with a pruner)."""
    if raw.get("prune") not in (None, "", "none"):
        pruner = make_pruner(str(raw["prune"]))
        if "epochs" in space.params:
            raise ConfigError("--prune decides at rung epochs of one length of run; epochs cannot be a sweep axis")
        cfg = space.base_config()
        pruner.check(cfg.epochs, cfg.val_split > 0)
        space.prune = pruner.spec()
    audit = raw.get("audit") or 0.0
    if audit:
        if space.prune is None:
            raise ConfigError("--audit trains pruned trials to the end; it needs --prune")
        check_range("sweep", "audit", audit, 0.0, 1.0, low_inclusive=False)
        space.audit = float(audit)
