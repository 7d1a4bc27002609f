"""Sanity checks from the notes' "How to start" recipe: overfit a tiny batch, check the initial loss.

**Overfit a batch.** A network with enough capacity must be able to memorize a handful of training
samples: with regularization off (no dropout, no L1/L2 or weight decay, no augmentation) and the
same handful seen at every step, training accuracy must reach 100%. If it does not within a few
hundred steps, something is wrong before any question of generalization arises: a bug, a learning
rate of zero or far too large, a broken initialization, a model that cannot fit.

**Initial loss.** Before any update, a sanely initialized classifier spreads its probability about
evenly over the C classes, so the cross-entropy starts near −log(1/C) = log C (2.30 for 10
classes). Random logits with standard deviation s raise it to about log C + s²/2, so real networks
start somewhat above log C: measured over seeds 0–4 on digits, iris, wine, breast_cancer and
spiral with He, Glorot or LeCun init on standardized inputs (MLPs of 1–8 hidden layers up to 512
wide, a small CNN), the epoch-0 loss was at most 2.5× log C. Weights far larger than those scales
(N(0,1)) or raw unscaled inputs made it 3–500× log C: the network starts confidently wrong, and
its first updates are huge. The check therefore warns above 3× log C (and for a non-finite loss);
a loss below log C is no sign of a broken setup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.clipping import clip_by_global_norm, clip_by_value
from ..core.errors import ConfigError
from ..core.registry import check_int
from .callbacks import Callback
from .config import RunConfig
from .setup import Prepared, prepare


@dataclass
class OverfitResult:
    """Outcome of :func:`overfit_batch`. ``steps`` counts updates made before success."""

    success: bool
    n_samples: int
    steps: int
    max_steps: int
    loss: float
    accuracy: float
    losses: list[float] = field(default_factory=list)

    def message(self) -> str:
        what = "100% training accuracy" if not math.isnan(self.accuracy) else "a loss below 1% of its start"
        if self.success:
            return (
                f"overfit-batch: reached {what} on {self.n_samples} samples after {self.steps} steps "
                f"(loss {self.loss:.4g})"
            )
        acc = "" if math.isnan(self.accuracy) else f"accuracy {self.accuracy:.3g}, "
        return (
            f"overfit-batch: did not reach {what} on {self.n_samples} samples within {self.max_steps} steps "
            f"({acc}loss {self.loss:.4g}); a network must be able to memorize a handful of samples, so "
            "this points to a bug or a bad configuration (learning rate, initialization, model too small)"
        )


def unregularized(cfg: RunConfig) -> RunConfig:
    """The configuration with dropout, L1/L2 and augmentation switched off."""
    return cfg.replace(dropout=0.0, input_dropout=0.0, l1=0.0, l2=0.0, augment=None)


def overfit_batch(cfg: RunConfig, n: int, max_steps: int = 500) -> OverfitResult:
    """Train on the first ``n`` training samples, full batch, without regularization.

    Classification succeeds when every one of the n samples is classified correctly (accuracy of
    the training-mode forward pass); regression when the loss falls below 1% of its initial value.
    Dropout layers written into the model string and optimizer weight decay are switched off too.
    """
    n = check_int("", "overfit_batch", n, 1)
    max_steps = check_int("", "overfit_steps", max_steps, 1)
    base = cfg.replace(lr=None) if cfg.lr == "auto" else cfg
    run = _without_regularization(prepare(unregularized(base)))
    if n > len(run.splits.X_train):
        raise ConfigError(
            f"overfit_batch={n} is more than the {len(run.splits.X_train)} training samples; "
            f"allowed: 1 <= overfit_batch <= {len(run.splits.X_train)}"
        )
    return _overfit(run, n, max_steps)


def _without_regularization(run: Prepared) -> Prepared:
    for layer in run.model.iter_layers():
        if layer.name == "dropout":
            layer.rate = 0.0
    opt = run.optimizer
    if getattr(opt, "weight_decay", 0.0):
        opt = type(opt)(**{**opt.get_config(), "weight_decay": 0.0})
        opt.setup(run.model.params, run.model.n_decay)
        run.optimizer = opt
    return run


def _overfit(run: Prepared, n: int, max_steps: int) -> OverfitResult:
    model, loss, opt, cfg = run.model, run.loss, run.optimizer, run.config
    model.check_trainable()
    X, y = run.splits.X_train[:n], run.splits.y_train[:n]
    classification = loss.task == "classification"
    losses: list[float] = []
    acc = float("nan")
    for step in range(max_steps + 1):
        logits = model.forward(X, training=True)
        value, dlogits = loss.value_and_grad(logits, y)
        losses.append(float(value))
        if classification:
            acc = float(np.mean(loss.predict_labels(logits) == y))
            done = acc == 1.0
        else:
            done = value < 0.01 * losses[0]
        if done or not math.isfinite(value) or step == max_steps:
            return OverfitResult(bool(done), n, step, max_steps, float(value), acc, losses)
        model.backward(dlogits)
        if cfg.clip_value is not None:
            clip_by_value(model.grads, cfg.clip_value)
        if cfg.clip_norm is not None:
            clip_by_global_norm(model.grads, cfg.clip_norm)
        opt.step(model.params, model.grads)
    raise AssertionError("unreachable")  # pragma: no cover


def expected_initial_loss(loss_name: str, n_classes: int) -> float | None:
    """log C for softmax cross-entropy, log 2 for a sigmoid; None when the check does not apply."""
    if loss_name == "cross_entropy" and n_classes >= 2:
        return math.log(n_classes)
    if loss_name == "binary_cross_entropy":
        return math.log(2.0)
    return None


#: the epoch-0 loss above this multiple of log C means a broken setup (see the module docstring)
INITIAL_LOSS_FACTOR = 3.0


def initial_loss_warning(loss0: float, expected: float | None, factor: float = INITIAL_LOSS_FACTOR) -> str | None:
    """A warning when the epoch-0 loss exceeds ``factor`` × log C (or is not finite), else None."""
    if expected is None or expected <= 0:
        return None
    if not math.isfinite(loss0) or loss0 > factor * expected:
        return (
            f"initial loss {loss0:.4g} is {loss0 / expected:.3g}× log C = {expected:.4g}: the untrained network is "
            f"confidently wrong (a sanely initialized one starts within about 2.5× log C); its weights or inputs "
            "are far too large: check the weight initialization (--init) and the input scaling (--standardize)"
        )
    return None


class InitialLossCheck(Callback):
    """A fit callback comparing the epoch-0 training loss with log C; collects warnings, never prints.

    At the end of training the warning joins ``result.warnings`` (so a recorder placed after this
    callback writes it to metrics.csv). ``on_warning`` (optional) is called as soon as it is found.
    """

    def __init__(self, on_warning: Any = None, factor: float = INITIAL_LOSS_FACTOR):
        self.on_warning = on_warning
        self.factor = factor
        self.expected: float | None = None
        self.warnings: list[str] = []

    def on_train_begin(self, run: Prepared) -> None:
        n_classes = run.dataset.n_classes if run.dataset.task == "classification" else 0
        self.expected = expected_initial_loss(run.loss.name, int(n_classes or 0))

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        if row.get("epoch") != 0:
            return
        warning = initial_loss_warning(float(row.get("train_loss", float("nan"))), self.expected, self.factor)
        if warning:
            self.warnings.append(warning)
            if self.on_warning is not None:
                self.on_warning(warning)

    def on_train_end(self, result: Any) -> None:
        if hasattr(result, "warnings"):
            result.warnings.extend(w for w in self.warnings if w not in result.warnings)
