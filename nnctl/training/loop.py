"""The fit loop: minibatch training with evaluation, early stopping, divergence and interrupt handling.

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
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.clipping import clip_by_global_norm, clip_by_value, global_norm
from ..core.optimizers import flush_denormals
from . import direction
from .metrics import evaluate
from .sanity import InitialLossCheck
from .threads import blas_threads
from .setup import Prepared


class Callback:
    """Hooks a caller can implement (all optional). Rows are plain dicts of numbers."""

    def on_train_begin(self, run: Prepared) -> None: ...

    def on_epoch_end(self, row: dict[str, Any]) -> None: ...

    def on_batch_end(self, epoch: int, batch: int, n_batches: int, loss: float) -> None: ...

    def on_train_end(self, result: "FitResult") -> None: ...


@dataclass
class FitResult:
    """What a run produced: its status, curve and final metrics (after restoring the best epoch)."""

    status: str = "completed"  # completed | early_stopped | diverged | interrupted
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
    warnings: list[str] = field(default_factory=list)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)


def _improved(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def fit(run: Prepared, callbacks: list[Callback] | None = None) -> FitResult:
    """Train ``run.model`` according to ``run.config``; returns a :class:`FitResult`.

    Overflow in a diverging run is detected and reported as status ``diverged``, so NumPy's own
    floating-point warnings are silenced inside the loop.
    """
    callbacks = list(callbacks or [])
    if not any(isinstance(cb, InitialLossCheck) for cb in callbacks):
        callbacks.insert(0, InitialLossCheck())  # every classification run, sweep trials included
    run.diagnostics = None
    if run.config.diagnostics:
        from .diagnostics import DiagnosticsCollector

        run.diagnostics = DiagnosticsCollector(seed=run.config.seed)
        callbacks.insert(0, run.diagnostics)  # measured before any writer or printer sees the epoch
    was_flushing = _denormals_flushed()
    try:
        with blas_threads(run.config.threads), np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            result = _fit(run, callbacks)
        if run.diagnostics is not None:
            result.diagnostics = run.diagnostics.rows
            result.warnings = run.diagnostics.summary() + result.warnings
        return result
    finally:
        if not was_flushing:
            flush_denormals(False)  # leave the thread's floating-point mode as we found it


@contextmanager
def _ctrl_c_deferred():
    """Hold a Ctrl-C that arrives inside the block until the block has finished.

    Ctrl-C raises KeyboardInterrupt wherever the main thread happens to be; inside the recording of
    an epoch that could leave the epoch counted but not written to curve.csv. Only where Ctrl-C
    would raise (Python's default handler, main thread) is anything changed.
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pending: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pending:
        raise KeyboardInterrupt


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


def _fit(run: Prepared, callbacks: list[Callback] | None) -> FitResult:
    callbacks = callbacks or []
    cfg, model, opt, sched = run.config, run.model, run.optimizer, run.schedule
    sp = run.splits
    model.check_trainable()
    n = len(sp.X_train)
    batch = n if cfg.batch_size == "full" else min(int(cfg.batch_size), n)
    n_batches = math.ceil(n / batch)
    sched.start(float(opt.lr), n_batches, max(cfg.epochs, 1))
    has_val = len(sp.X_val) > 0
    monitor = run.monitor
    classification = run.dataset.task == "classification"
    mode = direction.mode(monitor)
    result = FitResult(monitor=monitor)
    result.flush_denormals = flush_denormals(True)
    train_step = TrainStep(run, batch)
    best_value: float | None = None
    best_state = model.snapshot()
    # the steps taken when the best (and, without restore_best, the last recorded) state was kept:
    # any step after it — a later epoch, or part of one cut short by divergence or Ctrl-C — means
    # the model no longer holds that state
    best_steps = last_steps = 0
    last_state = best_state
    start = time.perf_counter()
    for cb in callbacks:
        cb.on_train_begin(run)

    def record(epoch: int, row: dict[str, Any]) -> None:
        nonlocal best_value, best_state, best_steps, last_state, last_steps
        with _ctrl_c_deferred():  # an epoch is recorded everywhere (result, files) or nowhere
            result.curve.append(row)
            result.epochs_run = epoch
            value = row.get(monitor)
            if _improved(value, best_value, mode, cfg.min_delta if epoch > 0 else 0.0):
                best_value = value
                result.best_epoch = epoch
                best_state, best_steps = model.snapshot(), row["step"]
            finite = math.isfinite(row["train_loss"]) and (math.isfinite(row["val_loss"]) or not has_val)
            if not cfg.restore_best and finite:
                last_state, last_steps = model.snapshot(), row["step"]
            for cb in callbacks:
                cb.on_epoch_end(row)

    t0 = time.perf_counter()
    row0 = _eval_row(run, 0, 0, sched.lr_at(0))
    row0["epoch_seconds"] = time.perf_counter() - t0
    row0["samples_per_second"] = float("nan")
    record(0, row0)

    step = 0
    epochs_without_improvement = 0
    try:
        for epoch in range(1, cfg.epochs + 1):
            t_epoch = time.perf_counter()
            order = run.rng_shuffle.permutation(n)
            loss_sum, correct, seen = 0.0, 0, 0
            norm = float("nan")
            lr = sched.lr_at(step)
            for b in range(n_batches):
                idx = order[b * batch : (b + 1) * batch]
                m = len(idx)
                lr = sched.lr_at(step)
                value, score = train_step(idx, lr)
                if not math.isfinite(value):
                    result.status = "diverged"
                    result.stop_reason = (
                        f"loss became {value} at epoch {epoch}, batch {b + 1}; "
                        "lower the learning rate (--lr) or clip gradients (--clip-norm)"
                    )
                    raise _Stop
                norm = train_step.norm
                step += 1
                loss_sum += value * m
                seen += m
                correct += int(score) if classification else score
                for cb in callbacks:
                    cb.on_batch_end(epoch, b + 1, n_batches, value)
            if not np.all(np.isfinite(model.params)):
                result.status = "diverged"
                result.stop_reason = (
                    f"parameters became non-finite at epoch {epoch}; lower the learning rate (--lr) "
                    "or clip gradients (--clip-norm)"
                )
                raise _Stop
            train_seconds = time.perf_counter() - t_epoch
            result.train_seconds += train_seconds
            if cfg.clip_norm is None:
                norm = global_norm(model.grads)
            row = _eval_row(run, epoch, step, lr, train=(loss_sum / seen, correct / seen))
            row["grad_norm"] = norm
            row["epoch_seconds"] = time.perf_counter() - t_epoch
            row["samples_per_second"] = seen / train_seconds if train_seconds > 0 else float("nan")
            result.steps = step
            before = result.best_epoch
            record(epoch, row)
            if not math.isfinite(row["train_loss"]) or (has_val and not math.isfinite(row.get("val_loss", 0.0))):
                result.status = "diverged"
                result.stop_reason = f"loss became non-finite at epoch {epoch}; lower the learning rate"
                raise _Stop
            epochs_without_improvement = 0 if result.best_epoch != before else epochs_without_improvement + 1
            sched.on_epoch_end(epoch, row.get(monitor))
            if getattr(sched, "stop_requested", False):
                result.status = "early_stopped"
                result.stop_reason = f"learning rate fell below the schedule's stop threshold at epoch {epoch}"
                raise _Stop
            if cfg.early_stopping is not None and epochs_without_improvement >= cfg.early_stopping:
                result.status = "early_stopped"
                result.stop_reason = (
                    f"no improvement of {monitor} for {cfg.early_stopping} epochs (best at epoch {result.best_epoch})"
                )
                raise _Stop
    except _Stop:
        pass
    except KeyboardInterrupt:
        result.status = "interrupted"
        result.stop_reason = f"interrupted by the user during epoch {result.epochs_run + 1}"
    finally:
        result.steps = step
    if cfg.restore_best and step != best_steps:
        model.load_state_dict(best_state)
        result.restored_best = True
    elif result.status == "diverged" and step != last_steps:  # never return non-finite weights
        model.load_state_dict(last_state)
        last_epoch = next(r["epoch"] for r in reversed(result.curve) if r["step"] == last_steps)
        result.stop_reason += f"; the weights of epoch {last_epoch}, the last finite one, are returned"
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


class _Stop(Exception):
    """Internal: leave the epoch loop (early stop, divergence)."""


def _eval_row(run: Prepared, epoch: int, step: int, lr: float, train: tuple[float, float] | None = None) -> dict[str, Any]:
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
    for split, X, y in (("eval_train", sp.X_train, sp.y_train), ("val", sp.X_val, sp.y_val), ("test", sp.X_test, sp.y_test)):
        if len(X) == 0:
            continue
        for key, value in evaluate(model, loss, X, y, task=run.dataset.task).items():
            out[f"{split}_{key}"] = value
    return out
