"""The fit loop: minibatch training and evaluation; callbacks (callbacks.py) decide when to stop.

Each step (:class:`TrainStep`): gather a minibatch (one ``np.take`` into a reused buffer), augment
it, forward, loss and dL/dlogits, backward, add the regularizer's gradient, clip, and one optimizer
update over the flat parameter buffer at the schedule's rate. Training never prints: progress
reaches the caller through :class:`Callback` hooks.

Curve semantics: the epoch-0 row is measured in evaluation mode before any update (for C balanced
classes a sane network starts near log C); later rows report ``train_loss``/``train_acc`` as the
mean over the epoch's minibatches (what Keras and PyTorch loops report), and validation metrics in
evaluation mode at the end of the epoch.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core import kernels
from ..core.clipping import clip_by_global_norm, clip_by_value, global_norm
from ..core.optimizers import flush_denormals
from . import direction, interrupts
from .callbacks import BestEpoch, Callback, EarlyStopping, ScheduleStep, Stop, StopOnNonFinite
from .metrics import evaluate
from .sanity import InitialLossCheck
from .setup import Prepared
from .threads import run_threads


@dataclass
class FitResult:
    """What a run produced: its status, curve and final metrics (after restoring the best epoch)."""

    status: str = "completed"  # one of nnctl/training/status.py
    stop_reason: str = ""
    epochs_run: int = 0
    steps: int = 0
    best_epoch: int = 0
    best: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)
    curve: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    train_seconds: float = 0.0
    samples_per_second: float = 0.0
    restored_best: bool = False
    monitor: str = ""
    flush_denormals: bool = False
    kernels: bool = False  # whether the compiled kernels ran (nnctl/core/kernels), else the NumPy path
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    pruned_epoch: int | None = None  # a sweep's trial stopped (or, audited, judged) at this rung epoch
    audited: bool = False  # pruned, but trained to the end to check the pruner


def fit(run: Prepared, callbacks: list[Callback] | None = None) -> FitResult:
    """Train ``run.model`` according to ``run.config``; returns a :class:`FitResult`.

    The run's own rules come first — the initial-loss check, diagnostics, the best epoch (and
    restoring it), divergence, the schedule's reaction to the monitored metric, early stopping —
    then the caller's ``callbacks`` (a recorder, a progress display), which so see every epoch's
    row after the rules have measured it. Overflow in a diverging run is detected and reported as
    status ``diverged``, so NumPy's own floating-point warnings are silenced inside the loop.
    """
    cfg = run.config
    mode = direction.mode(run.monitor)
    rules: list[Callback] = (
        [] if any(isinstance(cb, InitialLossCheck) for cb in callbacks or []) else [InitialLossCheck()]
    )
    run.diagnostics = None
    if cfg.diagnostics:
        from .diagnostics import DiagnosticsCollector

        run.diagnostics = DiagnosticsCollector(seed=cfg.seed)
        rules.append(run.diagnostics)
    rules += [
        BestEpoch(run.monitor, mode, cfg.min_delta, restore=cfg.restore_best),
        StopOnNonFinite(),
        ScheduleStep(run.monitor),
    ]
    if cfg.early_stopping is not None:
        rules.append(EarlyStopping(run.monitor, mode, cfg.early_stopping, cfg.min_delta))
    was_flushing = _denormals_flushed()
    batch = batch_size_for(cfg.batch_size, len(run.splits.X_train))
    try:
        # the path first: a small model's run then never imports numba (kernels.for_model)
        with kernels.for_model(run.model, batch) as compiled, run_threads(cfg.threads):
            with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
                result = _fit(run, rules + list(callbacks or []))
            result.kernels = compiled
        if run.diagnostics is not None:
            result.diagnostics = run.diagnostics.rows
            result.warnings = run.diagnostics.summary() + result.warnings
        return result
    finally:
        if not was_flushing:
            flush_denormals(False)  # leave the thread's floating-point mode as we found it


def _denormals_flushed() -> bool:
    """Whether flush-to-zero/denormals-are-zero is on: a denormal times one then gives zero."""
    with np.errstate(under="ignore"):
        return float(np.multiply(np.float32(1e-39), np.float32(1.0))) == 0.0


class TrainStep:
    """One minibatch update exactly as :func:`fit` performs it; also what benchmarks time.

    ``step(idx, lr)`` gathers the training samples ``idx`` into reused buffers, runs forward, loss,
    backward, the regularizer's gradient, clipping and the optimizer update, and returns
    ``(loss, score)``: the minibatch's mean loss and its number of correct predictions
    (classification) or its summed absolute error (regression). When the loss is not finite it
    returns at once, before any update, so the caller can report divergence. ``norm`` holds the
    gradient norm of the last step when clipping by norm (else NaN).
    """

    def __init__(self, run: Prepared, batch: int):
        self.run = run
        X, y = run.splits.X_train, run.splits.y_train
        self.xbuf = np.empty((batch, *X.shape[1:]), dtype=X.dtype)
        self.ybuf = np.empty((batch, *y.shape[1:]), dtype=y.dtype)
        self.decay = slice(0, run.model.n_decay)
        self.classification = run.dataset.task == "classification"
        self.norm = float("nan")

    def __call__(self, idx: np.ndarray, lr: float) -> tuple[float, float]:
        run, model, loss, cfg = self.run, self.run.model, self.run.loss, self.run.config
        m = len(idx)
        xb = np.take(run.splits.X_train, idx, axis=0, out=self.xbuf[:m])
        yb = np.take(run.splits.y_train, idx, axis=0, out=self.ybuf[:m])
        targets = yb
        if run.augment is not None:
            xb, targets = run.augment(xb, yb, run.rng_augment)
        logits = model.forward(xb, training=True)
        value, dlogits = loss.value_and_grad(logits, targets)
        if not math.isfinite(value):
            return value, float("nan")
        model.backward(dlogits)
        if run.regularizer is not None:
            run.regularizer.add_grad(model.params[self.decay], model.grads[self.decay])
        if cfg.clip_value is not None:
            clip_by_value(model.grads, cfg.clip_value)
        if cfg.clip_norm is not None:
            self.norm = clip_by_global_norm(model.grads, cfg.clip_norm)
        run.optimizer.step(model.params, model.grads, lr)
        if self.classification:
            return value, float(np.count_nonzero(loss.predict_labels(logits) == yb))
        return value, float(np.abs(loss.output(logits).reshape(yb.shape) - yb).mean()) * m


def _fit(run: Prepared, callbacks: list[Callback]) -> FitResult:
    """Step through the epochs and evaluate each; the callbacks decide everything else."""
    cfg, model, sched, sp = run.config, run.model, run.schedule, run.splits
    model.check_trainable()
    n = len(sp.X_train)
    batch = batch_size_for(cfg.batch_size, n)
    n_batches = math.ceil(n / batch)
    sched.start(float(run.optimizer.lr), n_batches, max(cfg.epochs, 1))
    classification = run.dataset.task == "classification"
    result = FitResult(monitor=run.monitor)
    result.flush_denormals = flush_denormals(True)
    train_step = TrainStep(run, batch)
    start = time.perf_counter()
    for cb in callbacks:
        cb.on_train_begin(run)

    def record(row: dict[str, Any]) -> Stop | None:
        with interrupts.deferred():  # an epoch is recorded everywhere (result, files) or nowhere
            result.curve.append(row)
            result.epochs_run = int(row["epoch"])
            stops = [cb.on_epoch_end(row) for cb in callbacks]
        return next((s for s in stops if s is not None), None)

    t0 = time.perf_counter()
    row0 = _eval_row(run, 0, 0, sched.lr_at(0))
    row0.update(epoch_seconds=time.perf_counter() - t0, samples_per_second=float("nan"))
    stop = record(row0)
    step = 0
    try:
        for epoch in range(1, cfg.epochs + 1):
            if stop is not None:
                break
            t_epoch = time.perf_counter()
            order = run.rng_shuffle.permutation(n)
            loss_sum, correct, seen = 0.0, 0, 0
            norm = float("nan")
            lr = sched.lr_at(step)
            for b in range(n_batches):
                idx = order[b * batch : (b + 1) * batch]
                lr = sched.lr_at(step)
                value, score = train_step(idx, lr)
                if math.isfinite(value):  # a non-finite loss returns before the update
                    step += 1
                    loss_sum += value * len(idx)
                    seen += len(idx)
                    correct += int(score) if classification else score
                    norm = train_step.norm
                stops = [cb.on_batch_end(epoch, b + 1, n_batches, value) for cb in callbacks]
                stop = next((s for s in stops if s is not None), None)
                if stop is not None:
                    break
            result.steps = step
            if stop is not None:
                break
            train_seconds = time.perf_counter() - t_epoch
            result.train_seconds += train_seconds
            if cfg.clip_norm is None:
                norm = global_norm(model.grads)
            row = _eval_row(run, epoch, step, lr, train=(loss_sum / seen, correct / seen))
            row["grad_norm"] = norm
            row["epoch_seconds"] = time.perf_counter() - t_epoch
            row["samples_per_second"] = seen / train_seconds if train_seconds > 0 else float("nan")
            stop = record(row)
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.stop_reason = f"interrupted by {interrupts.reason()} during epoch {result.epochs_run + 1}"
    finally:
        result.steps = step
    if stop is not None:
        result.status, result.stop_reason = stop.status, stop.reason
    for cb in callbacks:
        cb.on_train_stop(result)
    best_row = result.curve[result.best_epoch] if result.best_epoch < len(result.curve) else {}
    result.best = {k: v for k, v in best_row.items() if k.startswith(("val_", "train_"))}
    result.final = _final_metrics(run)
    result.seconds = time.perf_counter() - start
    result.samples_per_second = (
        result.steps * batch / result.train_seconds if result.train_seconds > 0 else float("nan")
    )
    for cb in callbacks:
        cb.on_train_end(result)
    return result


def batch_size_for(batch_size: int | str, n_train: int) -> int:
    """The minibatch size a run uses: ``full`` is the whole training split, and no batch is larger."""
    return n_train if batch_size == "full" else min(int(batch_size), n_train)


def _eval_row(
    run: Prepared, epoch: int, step: int, lr: float, train: tuple[float, float] | None = None
) -> dict[str, Any]:
    sp, model, loss = run.splits, run.model, run.loss
    row: dict[str, Any] = {"epoch": epoch, "step": step, "lr": float(lr)}
    classification = run.dataset.task == "classification"
    if train is None:
        tr = evaluate(model, loss, sp.X_train, sp.y_train, task=run.dataset.task)
        row["train_loss"] = tr["loss"]
        row["train_acc" if classification else "train_mae"] = tr["acc" if classification else "mae"]
    else:
        row["train_loss"] = float(train[0])
        row["train_acc" if classification else "train_mae"] = float(train[1])
    if len(sp.X_val):
        va = evaluate(model, loss, sp.X_val, sp.y_val, task=run.dataset.task)
        row["val_loss"] = va["loss"]
        row["val_acc" if classification else "val_mae"] = va["acc" if classification else "mae"]
    else:
        row["val_loss"] = float("nan")
        row["val_acc" if classification else "val_mae"] = float("nan")
    reg = run.regularizer
    row["reg_loss"] = float(reg.penalty(model.params[: model.n_decay])) if reg is not None else 0.0
    row.setdefault("grad_norm", float("nan"))
    return row


def _final_metrics(run: Prepared) -> dict[str, float]:
    """Metrics of the returned model, every split measured in evaluation mode.

    The training split's are named ``eval_train_*``: curve.csv's ``train_loss`` is another quantity,
    the mean over an epoch's minibatches while the weights moved (and dropout was on).
    """
    sp, model, loss = run.splits, run.model, run.loss
    out: dict[str, float] = {}
    for split, X, y in (
        ("eval_train", sp.X_train, sp.y_train),
        ("val", sp.X_val, sp.y_val),
        ("test", sp.X_test, sp.y_test),
    ):
        if len(X) == 0:
            continue
        for key, value in evaluate(model, loss, X, y, task=run.dataset.task).items():
            out[f"{split}_{key}"] = value
    return out
