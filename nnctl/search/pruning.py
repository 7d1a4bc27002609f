"""Pruning as a sweep runs it: rung values in, decisions out, in sweep order; and the audit.

The sweep process keeps one :class:`~.pruners.RungBoard`. A worker reports each epoch's row; at a
rung epoch it waits for the decision, which is made as soon as every earlier trial of its bracket
has reached that rung or ended (:meth:`SweepPruning.ready`). The values compared are the monitored
metric *as written to curve.csv* (10 significant digits), so a resumed sweep, which reads them
back from the trial directories, decides exactly as the first run did.

The audit: a trial the pruner stops is, with probability ``audit`` (decided by a hash of the sweep
seed and the trial id, so the same trials every time), trained to the end anyway. It ends with
status ``pruned`` and ``audited`` true; its values after the rung are not shown to the pruner. Its
best value then says whether the pruner was wrong: :func:`audit_summary`.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any

from ..results.store import as_written, written_true
from ..training.direction import higher_is_better
from ..training.status import PRUNED, RESULTS
from .pruners import RungBoard, make_pruner
from .space import SearchSpace


def audited(sweep_seed: int, trial_id: str, fraction: float) -> bool:
    """Whether a pruned trial is trained to the end anyway: a uniform number from a hash of the
    sweep seed and the trial id, below ``fraction``."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(f"{sweep_seed}:{trial_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


class SweepPruning:
    """The pruner's view of a sweep: which epochs each trial reports at, and the decisions."""

    def __init__(self, space: SearchSpace):
        cfg = space.base_config()
        self.monitor = cfg.monitor
        self.epochs = cfg.epochs
        self.pruner = make_pruner(space.prune)
        self.board = RungBoard(self.pruner, self.epochs, higher_is_better(self.monitor))
        self.audit = space.audit
        self.sweep_seed = space.sweep_seed
        self.waiting: dict[int, int] = {}  # trial index → the rung it waits at
        self.excluded: set[int] = set()  # audited trials: their values after the rung are not compared
        self.last: dict[int, int] = {}  # trial index → the last epoch it reported

    def rungs(self, index: int) -> list[int]:
        return self.pruner.rungs(self.epochs, self.pruner.bracket(index, self.epochs))

    def value(self, row: dict[str, Any]) -> float:
        value = row.get(self.monitor)
        return as_written(float(value)) if isinstance(value, (int, float)) else math.nan

    def report(self, index: int, row: dict[str, Any]) -> None:
        """A trial's epoch row as it trains: a rung's value is recorded and its decision awaited.

        An epoch at or before the last one reported means the trial started again (Dask reran it
        after its worker died): it is judged afresh, and decides as before from the same values."""
        epoch = int(row["epoch"])
        if epoch <= self.last.get(index, -1):
            self.forget(index)
        self.last[index] = epoch
        if index in self.excluded:
            return
        rung = self.board.record(index, epoch, self.value(row))
        if rung is not None:
            self.waiting[index] = rung

    def restore(self, index: int, curve: list[dict[str, Any]], metrics: dict[str, Any]) -> None:
        """A trial that ended in an earlier run of the sweep, read back from its directory."""
        last = metrics.get("pruned_epoch")
        last = int(last) if isinstance(last, (int, float)) and math.isfinite(last) else None
        for row in curve:
            if last is None or int(row["epoch"]) <= last:
                self.board.record(index, int(row["epoch"]), self.value(row))
        self.ended(index)

    def ended(self, index: int) -> None:
        """A trial that will report nothing more (finished, failed, pruned)."""
        self.board.done.add(index)
        self.waiting.pop(index, None)

    def forget(self, index: int) -> None:
        """A trial whose worker died: it runs again from its first epoch and reports its rungs again."""
        self.waiting.pop(index, None)
        self.excluded.discard(index)
        self.board.done.discard(index)
        self.last.pop(index, None)

    def ready(self, trials: list, force: bool = False) -> list[tuple[int, dict[str, Any]]]:
        """The decisions that can be made now, in sweep order, as ``(index, decision)``; ``trials``
        are the sweep's trials in order (a trial's index is its position).

        ``force`` decides the first waiting trial even though earlier ones have not reported (only
        when nothing else can make progress: see nnctl/search/sweep.py)."""
        out = []
        for index in sorted(self.waiting):
            rung = self.waiting[index]
            if self.board.awaited(index, rung) and not (force and not out):
                continue
            decision = self.board.decide(index, rung)
            del self.waiting[index]
            message: dict[str, Any] = {
                "epoch": decision.epoch,
                "prune": decision.prune,
                "reason": decision.reason(self.monitor),
            }
            if decision.prune:
                message["audit"] = audited(self.sweep_seed, trials[index].trial_id, self.audit)
                self.board.done.add(index)
                if message["audit"]:
                    self.excluded.add(index)
            out.append((index, message))
        return out

    @property
    def blocked(self) -> int:
        """Trials waiting for a decision that must wait for earlier trials."""
        return len(self.waiting)


@dataclass
class AuditSummary:
    """How often the pruner was wrong, measured: audited trials that beat the best unpruned one."""

    audited: int
    better: int
    best_unpruned: float | None
    column: str

    @property
    def error_rate(self) -> float | None:
        return self.better / self.audited if self.audited else None

    def line(self) -> str:
        if not self.audited:
            return "audit: no pruned trial was picked to be trained to the end"
        rate = self.error_rate
        return (
            f"audit: {self.audited} pruned trial{'s' if self.audited != 1 else ''} trained to the end; "
            f"{self.better} beat the best unpruned trial ({self.column} {self.best_unpruned:.4g}): "
            f"the pruner's error rate is {rate:.0%}"
        )


def audit_summary(rows: list[dict[str, Any]], column: str, higher_better: bool) -> AuditSummary:
    """From sweep.csv rows: the audited trials, and how many of them have a better ``column`` (the
    best monitored value) than the best trial that was not pruned."""

    def finite(value: Any) -> bool:
        return isinstance(value, (int, float)) and math.isfinite(value)

    unpruned = [r[column] for r in rows if r.get("status") in RESULTS and finite(r.get(column))]
    checked = [
        r for r in rows if r.get("status") == PRUNED and written_true(r.get("audited")) and finite(r.get(column))
    ]
    if not unpruned:
        return AuditSummary(len(checked), 0, None, column)
    best = max(unpruned) if higher_better else min(unpruned)
    better = sum((r[column] > best) if higher_better else (r[column] < best) for r in checked)
    return AuditSummary(len(checked), better, best, column)
