"""Training callbacks: everything the fit loop does besides stepping and evaluating.

A callback implements only the hooks it needs (Keras's shape); the loop calls them in order:

``on_train_begin(run)``         once, before the epoch-0 evaluation
``on_batch_end(epoch, batch, n_batches, loss)``   after every minibatch update
``on_epoch_end(row)``           after each epoch's row (epoch 0 included) is recorded
``on_train_stop(result)``       when the epoch loop has ended, however it ended, before the
                                returned model's final metrics are measured (restore-best acts here)
``on_train_end(result)``        at the very end, with the final metrics

``on_batch_end`` and ``on_epoch_end`` may return a :class:`Stop` to end training (early stopping,
divergence, a schedule's stop rule). The rules of when to stop live here, one callback each; the
loop knows none of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Stop:
    """A request to end training: the run's status and a one-line reason."""

    status: str  # early_stopped | diverged
    reason: str


class Callback:
    """Hooks a caller can implement (all optional). Rows are plain dicts of numbers."""

    def on_train_begin(self, run: Any) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, n_batches: int, loss: float) -> Stop | None: ...

    def on_epoch_end(self, row: dict[str, Any]) -> Stop | None: ...

    def on_train_stop(self, result: Any) -> None: ...

    def on_train_end(self, result: Any) -> None: ...


def improved(value: float | None, best: float | None, mode: str, min_delta: float) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` (``mode`` "min" or "max")."""
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class BestEpoch(Callback):
    """Keeps the best epoch's state by the monitored metric and returns it when training ends.

    The best state is restored whenever steps were taken since it was kept — a later epoch, or part
    of one cut short by divergence or Ctrl-C — so the returned weights are always those of a
    recorded epoch. Without ``restore_best`` the last epoch is returned, except that a run that
    diverged returns its last finite epoch rather than NaN weights.
    """

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0, restore: bool = True):
        self.monitor, self.mode, self.min_delta, self.restore = monitor, mode, min_delta, restore
        self.best_value: float | None = None
        self.best_epoch = 0

    def on_train_begin(self, run: Any) -> None:
        self.model = run.model
        self.has_val = len(run.splits.X_val) > 0
        self.best_state = self.last_state = self.model.snapshot()
        self.best_steps = self.last_steps = 0
        self.last_epoch = 0

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        epoch = int(row["epoch"])
        if improved(row.get(self.monitor), self.best_value, self.mode, self.min_delta if epoch > 0 else 0.0):
            self.best_value, self.best_epoch = row[self.monitor], epoch
            self.best_state, self.best_steps = self.model.snapshot(), row["step"]
        finite = math.isfinite(row["train_loss"]) and (math.isfinite(row["val_loss"]) or not self.has_val)
        if not self.restore and finite:
            self.last_state, self.last_steps, self.last_epoch = self.model.snapshot(), row["step"], epoch

    def on_train_stop(self, result: Any) -> None:
        result.best_epoch = self.best_epoch
        if self.restore and result.steps != self.best_steps:
            self.model.load_state_dict(self.best_state)
            result.restored_best = True
        elif result.status == "diverged" and result.steps != self.last_steps:  # never return non-finite weights
            self.model.load_state_dict(self.last_state)
            result.stop_reason += f"; the weights of epoch {self.last_epoch}, the last finite one, are returned"


class EarlyStopping(Callback):
    """Stop after ``patience`` epochs in which the monitored metric did not improve by ``min_delta``."""

    def __init__(self, monitor: str, mode: str, patience: int, min_delta: float = 0.0):
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best: float | None = None
        self.best_epoch = 0
        self.waited = 0

    def on_epoch_end(self, row: dict[str, Any]) -> Stop | None:
        epoch = int(row["epoch"])
        if improved(row.get(self.monitor), self.best, self.mode, self.min_delta if epoch > 0 else 0.0):
            self.best, self.best_epoch, self.waited = row[self.monitor], epoch, 0
            return None
        self.waited += 1
        if epoch > 0 and self.waited >= self.patience:
            return Stop(
                "early_stopped",
                f"no improvement of {self.monitor} for {self.patience} epochs (best at epoch {self.best_epoch})",
            )
        return None


class StopOnNonFinite(Callback):
    """Divergence: a minibatch loss, the parameters or an epoch's losses that are NaN or infinite.

    A non-finite minibatch loss stops before that minibatch's update (the step returns first)."""

    _HINT = "lower the learning rate (--lr) or clip gradients (--clip-norm)"

    def on_train_begin(self, run: Any) -> None:
        self.model = run.model
        self.has_val = len(run.splits.X_val) > 0

    def on_batch_end(self, epoch: int, batch: int, n_batches: int, loss: float) -> Stop | None:
        if not math.isfinite(loss):
            return Stop("diverged", f"loss became {loss} at epoch {epoch}, batch {batch}; {self._HINT}")
        if batch == n_batches and not np.all(np.isfinite(self.model.params)):  # before the epoch is evaluated
            return Stop("diverged", f"parameters became non-finite at epoch {epoch}; {self._HINT}")
        return None

    def on_epoch_end(self, row: dict[str, Any]) -> Stop | None:
        epoch = int(row["epoch"])
        if epoch == 0:
            return None
        if not math.isfinite(row["train_loss"]) or (self.has_val and not math.isfinite(row.get("val_loss", 0.0))):
            return Stop("diverged", f"loss became non-finite at epoch {epoch}; lower the learning rate")
        return None


class ScheduleStep(Callback):
    """Tells the learning-rate schedule each epoch's monitored metric (``reduce_on_plateau`` reacts
    to it) and ends training when the schedule asks to (the notes' stop after a 1024× decay)."""

    def __init__(self, monitor: str):
        self.monitor = monitor

    def on_train_begin(self, run: Any) -> None:
        self.schedule = run.schedule

    def on_epoch_end(self, row: dict[str, Any]) -> Stop | None:
        epoch = int(row["epoch"])
        if epoch == 0:
            return None
        self.schedule.on_epoch_end(epoch, row.get(self.monitor))
        if getattr(self.schedule, "stop_requested", False):
            return Stop("early_stopped", f"learning rate fell below the schedule's stop threshold at epoch {epoch}")
        return None
