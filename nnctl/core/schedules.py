"""Learning-rate schedules: the rate to use for each minibatch update.

A schedule is told the run's shape once, ``start(base_lr, steps_per_epoch, epochs)``, and then asked
``lr_at(step)`` before every update (``step`` counts minibatch updates from 0). Epoch-based
schedules use ``epoch = step // steps_per_epoch``, so the rate changes at epoch boundaries exactly
as with PyTorch's per-epoch schedulers (``scheduler.step()`` once per epoch). ``on_epoch_end`` lets
a schedule react to a validation metric (only ``reduce_on_plateau`` does), and ``stop_requested``
lets it end training.

Why schedules at all (lecture notes 001, "Learning Rates"): "At the beginning, we are far from the
destination, so we use larger learning rate. After several epochs, we are close to the destination,
so we reduce the learning rate."
"""

from __future__ import annotations

import bisect
import math

from .errors import ConfigError, TrainingError
from .registry import Component, Registry, check_choice, check_int, check_range, format_value, shown

SCHEDULES = Registry("schedule")


class Schedule(Component):
    """Base schedule: remembers the run's shape; subclasses implement :meth:`lr_at`."""

    kind = "schedule"

    def __init__(self) -> None:
        self.stop_requested = False
        self.base_lr: float | None = None
        self.steps_per_epoch = 1
        self.epochs = 1

    def start(self, base_lr: float, steps_per_epoch: int, epochs: int) -> None:
        """Called once before training (again to restart): the optimizer's rate and the run's length."""
        check_range(self.name, "base_lr", base_lr, 0)
        check_range(self.name, "steps_per_epoch", steps_per_epoch, 1)
        check_range(self.name, "epochs", epochs, 1)
        self.base_lr = float(base_lr)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.stop_requested = False

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch

    def lr_at(self, step: int) -> float:
        """The learning rate for update number ``step`` (0-based)."""
        raise NotImplementedError

    def on_epoch_end(self, epoch: int, metric: float | None) -> None:
        """Called after each epoch with the monitored metric (validation loss), or None."""

    def for_monitor(self, mode: str) -> Schedule:
        """This schedule for a run whose monitored metric is better when ``mode`` ("min"/"max")
        holds; only schedules that watch the metric care."""
        return self

    def _base(self) -> float:
        if self.base_lr is None:
            raise TrainingError(f"schedule {self.name}: call start(base_lr, steps_per_epoch, epochs) first")
        return self.base_lr


@SCHEDULES.register("constant")
class Constant(Schedule):
    """The optimizer's learning rate throughout: η_t = η."""

    def lr_at(self, step: int) -> float:
        return self._base()


@SCHEDULES.register("step_decay")
class StepDecay(Schedule):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: η·γ^⌊epoch/step_size⌋ (PyTorch StepLR)."""

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        super().__init__()
        self.step_size = check_int(self.name, "step_size", step_size, 1)
        self.gamma = gamma
        check_range(self.name, "gamma", gamma, 0, 1, low_inclusive=False)

    def lr_at(self, step: int) -> float:
        return self._base() * self.gamma ** (self.epoch_of(step) // self.step_size)


@SCHEDULES.register("multi_step")
class MultiStep(Schedule):
    """Multiply the rate by ``gamma`` at each milestone epoch (PyTorch MultiStepLR).

    η·γ^k with k the number of milestones ≤ epoch. Milestones are written with '/' between them,
    e.g. ``multi_step:milestones=30/60/90`` (',' already separates parameters in a spec).
    """

    def __init__(self, milestones: str = "30/60/90", gamma: float = 0.1):
        super().__init__()
        if isinstance(milestones, (list, tuple)):
            milestones = "/".join(format_value(m) for m in milestones)
        self.milestones = (milestones if isinstance(milestones, str) else format_value(milestones)).strip()
        self.gamma = gamma
        check_range(self.name, "gamma", gamma, 0, 1, low_inclusive=False)
        try:
            values = [int(part) for part in self.milestones.split("/")]
        except ValueError:
            values = []
        if not values or values[0] < 1 or any(b <= a for a, b in zip(values, values[1:])):
            raise ConfigError(
                f"{self.name}: milestones={shown(self.milestones)} is not allowed; "
                "expected increasing positive epoch numbers separated by '/', e.g. 30/60/90"
            )
        self.epoch_milestones = values

    def lr_at(self, step: int) -> float:
        k = bisect.bisect_right(self.epoch_milestones, self.epoch_of(step))
        return self._base() * self.gamma**k


@SCHEDULES.register("exponential")
class Exponential(Schedule):
    """Multiply the rate by ``gamma`` every epoch: η·γ^epoch (PyTorch ExponentialLR)."""

    def __init__(self, gamma: float = 0.95):
        super().__init__()
        self.gamma = gamma
        check_range(self.name, "gamma", gamma, 0, 1, low_inclusive=False)

    def lr_at(self, step: int) -> float:
        return self._base() * self.gamma ** self.epoch_of(step)


@SCHEDULES.register("inverse_sqrt")
class InverseSqrt(Schedule):
    """The lecture notes' "1/t decay": η_t = η/√(t + 1), t counted in epochs or in updates (``per``).

    Lecture notes 001 ("Learning Rates") give it as the example of reducing the rate as training
    approaches the minimum. With ``per=step`` the rate falls at every update.
    """

    def __init__(self, per: str = "epoch"):
        super().__init__()
        self.per = per
        check_choice(self.name, "per", per, ["epoch", "step"])

    def lr_at(self, step: int) -> float:
        t = self.epoch_of(step) if self.per == "epoch" else step
        return self._base() / math.sqrt(t + 1)


@SCHEDULES.register("cosine")
class Cosine(Schedule):
    """Linear warmup, then cosine annealing to ``min_lr`` over the rest of the run (per update).

    During the first W = round(warmup·steps_per_epoch) updates, η_s = η·(s+1)/W; then with
    p = (s − W)/(T − W) over the T updates of the run, η_s = min_lr + (η − min_lr)·(1 + cos πp)/2
    (Loshchilov & Hutter's SGDR without restarts; PyTorch CosineAnnealingLR with T_max = T − W
    stepped per update). ``warmup`` is in epochs and may be fractional; ``min_lr`` is absolute.
    """

    def __init__(self, warmup: float = 0.0, min_lr: float = 0.0):
        super().__init__()
        self.warmup = warmup
        self.min_lr = min_lr
        check_range(self.name, "warmup", warmup, 0)
        check_range(self.name, "min_lr", min_lr, 0)

    def start(self, base_lr: float, steps_per_epoch: int, epochs: int) -> None:
        super().start(base_lr, steps_per_epoch, epochs)
        if self.warmup > self.epochs:
            raise ConfigError(
                f"{self.name}: warmup={self.warmup!r} epochs is longer than the run; allowed: warmup <= {self.epochs}"
            )
        if self.min_lr > self.base_lr:
            raise ConfigError(
                f"{self.name}: min_lr={self.min_lr!r} is above the learning rate {self.base_lr!r}; "
                f"allowed: min_lr <= lr"
            )
        self.warmup_steps = int(round(self.warmup * self.steps_per_epoch))

    def lr_at(self, step: int) -> float:
        base, w = self._base(), self.warmup_steps
        if step < w:
            return base * (step + 1) / w
        span = self.total_steps - w
        p = min(1.0, (step - w) / span) if span > 0 else 1.0
        return self.min_lr + (base - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * p))


@SCHEDULES.register("one_cycle")
class OneCycle(Schedule):
    """The 1cycle policy (Smith & Topin 2019) with PyTorch OneCycleLR's two phases, per update.

    From max_lr/div_factor the rate rises to max_lr over the first pct_start·T − 1 updates, then
    falls to max_lr/(div_factor·final_div_factor) at update T − 1 (T = all updates of the run),
    each phase interpolated by ``anneal`` (cos: half a cosine; linear). ``max_lr`` defaults to the
    optimizer's learning rate. Unlike PyTorch, momentum is not cycled (the optimizer's momentum or
    β1 stays fixed), and updates past T keep the final rate instead of raising an error.
    """

    def __init__(
        self,
        max_lr: float | None = None,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        anneal: str = "cos",
    ):
        super().__init__()
        if max_lr is not None:
            check_range(self.name, "max_lr", max_lr, 0)
        self.max_lr = None if max_lr is None else float(max_lr)
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal = anneal
        check_range(self.name, "pct_start", pct_start, 0, 1, low_inclusive=False, high_inclusive=False)
        check_range(self.name, "div_factor", div_factor, 0, low_inclusive=False)
        check_range(self.name, "final_div_factor", final_div_factor, 0, low_inclusive=False)
        check_choice(self.name, "anneal", anneal, ["cos", "linear"])

    def _interpolate(self, start: float, end: float, pct: float) -> float:
        if self.anneal == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1.0)
        return (end - start) * pct + start

    def lr_at(self, step: int) -> float:
        peak = self._base() if self.max_lr is None else self.max_lr
        initial = peak / self.div_factor
        final = initial / self.final_div_factor
        total = self.total_steps
        step = min(step, total - 1)
        rise_end = float(self.pct_start * total) - 1.0
        if step <= rise_end:
            start_step, end_step, a, b = 0.0, rise_end, initial, peak
        else:
            start_step, end_step, a, b = rise_end, float(total - 1), peak, final
        span = end_step - start_step
        pct = (step - start_step) / span if span > 0 else 1.0
        return self._interpolate(a, b, pct)


@SCHEDULES.register("reduce_on_plateau", "plateau")
class ReduceOnPlateau(Schedule):
    """Divide the rate by 1/``factor`` when the metric stops improving (PyTorch ReduceLROnPlateau).

        An epoch improves on the best metric when it is below best·(1 − threshold) (``mode=min``) or
        above best·(1 + threshold) (``mode=max``): PyTorch's relative threshold mode. ``mode=auto``
        (the default) follows the run's monitor: ``max`` for accuracies, ``min`` for losses (and ``min``
    when the schedule is used on its own). After more
        than ``patience`` epochs without improvement the rate becomes max(η·factor, min_lr), and the
        count restarts (no cooldown); as in PyTorch, a reduction smaller than ``eps`` (absolute) is
        skipped, so the rate stops falling once it is that small. Lecture notes 004 ("Learning rate
        schedule") describe the procedure: "decrease the learning rate by some amount, say a factor of
        two or ten. We repeat this many times, until, say, the learning rate is a factor of 1,024 (or
        1,000) times lower than the initial value. Then we terminate." ``stop_after_decay=1024`` does
        that last part: it sets ``stop_requested`` once η has fallen by that factor (0 never stops).
    """

    def __init__(
        self,
        factor: float = 0.1,
        patience: int = 10,
        min_lr: float = 0.0,
        threshold: float = 1e-4,
        mode: str = "auto",
        stop_after_decay: float = 0.0,
        eps: float = 1e-8,
    ):
        super().__init__()
        self.factor = factor
        self.patience = check_int(self.name, "patience", patience, 0)
        self.min_lr = min_lr
        self.threshold = threshold
        self.mode = mode
        self.stop_after_decay = stop_after_decay
        self.eps = eps
        check_range(self.name, "factor", factor, 0, 1, low_inclusive=False, high_inclusive=False)
        check_range(self.name, "min_lr", min_lr, 0)
        check_range(self.name, "threshold", threshold, 0)
        check_range(self.name, "eps", eps, 0)
        check_choice(self.name, "mode", mode, ["auto", "min", "max"])
        if stop_after_decay != 0.0:
            check_range(self.name, "stop_after_decay", stop_after_decay, 1, low_inclusive=False)

    def for_monitor(self, mode: str) -> ReduceOnPlateau:
        if self.mode != "auto":
            return self
        return type(self)(**{**self.get_config(), "mode": mode})

    def start(self, base_lr: float, steps_per_epoch: int, epochs: int) -> None:
        super().start(base_lr, steps_per_epoch, epochs)
        self.current_lr = self.base_lr
        self.best = -math.inf if self.mode == "max" else math.inf
        self.num_bad_epochs = 0

    def lr_at(self, step: int) -> float:
        self._base()
        return self.current_lr

    def _improves(self, metric: float) -> bool:
        if self.mode == "max":
            return metric > self.best * (1.0 + self.threshold)
        return metric < self.best * (1.0 - self.threshold)

    def on_epoch_end(self, epoch: int, metric: float | None) -> None:
        self._base()
        if metric is None:
            raise TrainingError(f"{self.name} needs a metric (such as the validation loss) after every epoch")
        metric = float(metric)
        if self._improves(metric):
            self.best = metric
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.current_lr * self.factor, self.min_lr)
            if self.current_lr - new_lr > self.eps:  # PyTorch: smaller reductions are skipped
                self.current_lr = new_lr
            self.num_bad_epochs = 0
        limit = self.stop_after_decay
        if limit and self.current_lr <= self.base_lr / limit * (1.0 + 1e-9):
            self.stop_requested = True
