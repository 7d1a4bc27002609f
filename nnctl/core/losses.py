"""Losses: the number training minimizes, and its gradient with respect to the network's logits.

Every loss takes **logits**, the raw outputs of the last layer, never probabilities. The model ends in
a plain dense layer; the loss applies softmax or sigmoid itself. Fusing the two is what makes them
exact and stable: log-softmax is computed as ``z − logsumexp(z)`` and binary cross-entropy as
``max(z, 0) − z·y + log(1 + exp(−|z|))``, so logits of ±10⁴ give finite values and gradients. The
fused gradient is also the simple one: for softmax with cross-entropy ``∂E/∂z_k = o_k − t_k`` and
for a sigmoid with binary cross-entropy ``∂E/∂z = p − y`` (the lecture notes' extra factor
``o_k(1 − o_k)`` and missing minus sign are slips). Passing softmaxed outputs to a loss that expects
logits is a common mistake: the loss then applies softmax a second time and learning stalls.

A loss is a small class with two jobs, as in Nielsen's ``network2.py``: its value and its delta.

* ``value(logits, y) -> float``: the mean over the batch.
* ``value_and_grad(logits, y) -> (float, dlogits)``: ``dlogits`` is ∂L/∂logits of that *mean*, so it
  is already divided by the batch size; it has the logits' shape and dtype (float32 stays float32).
* ``output(logits)``: predictions: probabilities (softmax/sigmoid) or, for regression, the logits.
* ``task``: ``"classification"`` or ``"regression"``; classification losses add ``predict_labels``.

Formulas and reductions follow PyTorch (``nn.MSELoss``, ``nn.L1Loss``, ``nn.HuberLoss``,
``nn.BCEWithLogitsLoss``, ``nn.CrossEntropyLoss``, all with ``reduction="mean"``).
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from . import kernels
from .errors import DataError, ShapeError
from .registry import Component, Registry, check_choice, check_range

LOSSES = Registry("loss")


def _as_logits(name: str, logits) -> np.ndarray:
    """Logits as a floating array with a non-empty batch axis (integer input becomes float64)."""
    z = np.asarray(logits)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    if z.ndim == 0 or z.shape[0] == 0:
        raise ShapeError(f"{name}: expected a non-empty batch of logits (N, ...), got shape {z.shape}")
    return z


def _mean(x: np.ndarray) -> float:
    return float(np.mean(x, dtype=np.float64))


def _sum_squares(d: np.ndarray) -> float:
    """Σ d² as a Python float: one BLAS dot in d's dtype, redone in float64 if that overflowed
    (errors of 1e20 and more square beyond float32's 3.4e38 but are finite in float64)."""
    flat = d.ravel()
    total = float(np.dot(flat, flat))
    if not math.isfinite(total) and flat.dtype.itemsize < 8 and np.isfinite(flat).all():
        wide = flat.astype(np.float64)
        total = float(np.dot(wide, wide))
    return total


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax exp(z − max z) / Σ exp(z − max z): subtracting the max keeps exp ≤ 1."""
    e = z - z.max(axis=1, keepdims=True)
    np.exp(e, out=e)
    e /= e.sum(axis=1, keepdims=True)
    return e


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1/(1 + e^−z) for z ≥ 0 and e^z/(1 + e^z) for z < 0; exp is only taken of −|z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


class Loss(Component):
    """Base loss. Subclasses implement :meth:`_compute`; inputs are logits, never probabilities."""

    task: ClassVar[str] = "regression"

    def _compute(self, z: np.ndarray, y: np.ndarray, need_grad: bool) -> tuple[float, np.ndarray | None]:
        raise NotImplementedError

    def _targets(self, z: np.ndarray, y) -> np.ndarray:
        raise NotImplementedError

    def value(self, logits, y) -> float:
        """Mean loss over the batch. ``logits`` are raw scores, not probabilities."""
        z = _as_logits(self.name, logits)
        y = self._targets(z, y)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite logits give a non-finite loss
            return self._compute(z, y, False)[0]

    def value_and_grad(self, logits, y) -> tuple[float, np.ndarray]:
        """(mean loss, ∂loss/∂logits) with the gradient in the logits' shape and dtype.

        ``logits`` are raw scores, not probabilities; the gradient already includes the 1/N of the mean.
        """
        z = _as_logits(self.name, logits)
        y = self._targets(z, y)
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite logits give a non-finite loss
            value, grad = self._compute(z, y, True)
        return value, grad  # type: ignore[return-value]

    def output(self, logits) -> np.ndarray:
        """Predictions from logits: identity for regression (overridden for classification)."""
        return _as_logits(self.name, logits)


# --- regression ------------------------------------------------------------------------------------


class RegressionLoss(Loss):
    """A loss on real-valued targets; the prediction is the logit itself (a linear output layer)."""

    task: ClassVar[str] = "regression"

    def _targets(self, z: np.ndarray, y) -> np.ndarray:
        """Targets in the logits' shape and dtype: same shape, or (N,) with logits (N, 1) (and back)."""
        y = np.asarray(y)
        if y.shape != z.shape:
            if y.ndim == 1 and z.shape == (y.shape[0], 1):
                y = y.reshape(-1, 1)
            elif z.ndim == 1 and y.shape == (z.shape[0], 1):
                y = y.reshape(-1)
            else:
                raise ShapeError(
                    f"{self.name}: targets of shape {y.shape} do not fit logits of shape {z.shape}; "
                    "expected the same shape, or targets (N,) with logits (N, 1)"
                )
        if y.dtype.kind not in "biuf":
            raise DataError(f"{self.name}: regression targets must be numbers, got dtype {y.dtype}")
        return y.astype(z.dtype, copy=False)


@LOSSES.register("mse", "mean_squared_error")
class MSE(RegressionLoss):
    """Mean squared error: mean over all elements of (z − y)² (PyTorch MSELoss).

    L = (1/(N·D))·Σ (z − y)², ∂L/∂z = 2(z − y)/(N·D). The lecture notes' ½·Σ(a − y)² per sample is
    :class:`Quadratic`; the two differ by a constant factor, which rescales the learning rate.
    Takes logits (the linear outputs), not probabilities.
    """

    def _compute(self, z, y, need_grad):
        d = z - y
        value = _sum_squares(d) / d.size
        if need_grad:
            d *= 2.0 / d.size
        return value, d if need_grad else None


@LOSSES.register("quadratic", "quadratic_cost")
class Quadratic(RegressionLoss):
    """Quadratic cost ½·Σ_outputs (z − y)², averaged over the batch (Nielsen's network2 QuadraticCost).

    L = (1/N)·Σ_n ½‖z_n − y_n‖², ∂L/∂z = (z − y)/N. The cost of the lecture notes' single-neuron
    experiment, where the sigmoid belongs to the model and this cost sees its output a = σ(z).
    Equals MSE·D/2 for D outputs.
    Takes logits (the network's final outputs), not probabilities.
    """

    def _compute(self, z, y, need_grad):
        d = z - y
        n = z.shape[0]
        value = 0.5 * _sum_squares(d) / n
        if need_grad:
            d *= 1.0 / n
        return value, d if need_grad else None


@LOSSES.register("mae", "l1", "mean_absolute_error")
class MAE(RegressionLoss):
    """Mean absolute error: mean over all elements of |z − y| (PyTorch L1Loss).

    ∂L/∂z = sign(z − y)/(N·D), with sign(0) = 0. Robust to outliers: every error pulls equally hard.
    Takes logits (the linear outputs), not probabilities.
    """

    def _compute(self, z, y, need_grad):
        d = z - y
        value = _mean(np.abs(d))
        if need_grad:
            np.sign(d, out=d)
            d *= 1.0 / d.size
        return value, d if need_grad else None


@LOSSES.register("huber")
class Huber(RegressionLoss):
    """Huber loss (PyTorch HuberLoss): ½d² where |d| ≤ δ, δ(|d| − ½δ) beyond; mean over all elements.

    Quadratic near the target, linear far from it: ∂L/∂z = clip(d, −δ, δ)/(N·D) with d = z − y.
    (PyTorch's SmoothL1Loss is this divided by δ; the two agree at the default δ = 1.)
    Takes logits (the linear outputs), not probabilities.
    """

    def __init__(self, delta: float = 1.0):
        check_range("huber", "delta", delta, 0.0, low_inclusive=False)
        self.delta = float(delta)

    def _compute(self, z, y, need_grad):
        d = z - y
        a = np.abs(d)
        delta = self.delta
        per = np.where(a <= delta, 0.5 * d * d, delta * (a - 0.5 * delta))
        value = _mean(per)
        if need_grad:
            np.clip(d, -delta, delta, out=d)
            d *= 1.0 / d.size
        return value, d if need_grad else None


# --- classification --------------------------------------------------------------------------------


class ClassificationLoss(Loss):
    """A loss on class labels; ``output`` gives probabilities and ``predict_labels`` class indices."""

    task: ClassVar[str] = "classification"

    def predict_labels(self, logits) -> np.ndarray:
        raise NotImplementedError


@LOSSES.register("binary_cross_entropy", "bce", "binary_crossentropy")
class BinaryCrossEntropy(ClassificationLoss):
    """Binary cross-entropy from one logit per sample, sigmoid fused in (PyTorch BCEWithLogitsLoss).

    With p = σ(z): L = −[y·log p + (1−y)·log(1−p)], computed stably as
    ``max(z, 0) − z·y + log(1 + exp(−|z|))``; ∂L/∂z = (p − y)/N. Logits (N, 1) or (N,); targets (N,)
    or (N, 1) with labels 0/1 (soft targets in [0, 1] are allowed). Takes logits, not probabilities:
    passing σ(z) would apply the sigmoid twice.
    """

    def _targets(self, z, y):
        if not (z.ndim == 1 or (z.ndim == 2 and z.shape[1] == 1)):
            raise ShapeError(
                f"binary_cross_entropy: expected one logit per sample, shape (N, 1) or (N,), got {z.shape}; "
                "for more classes use cross_entropy"
            )
        y = np.asarray(y)
        if y.size != z.shape[0] or not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
            raise ShapeError(
                f"binary_cross_entropy: targets of shape {y.shape} do not fit logits of shape {z.shape}; "
                f"expected ({z.shape[0]},) or ({z.shape[0]}, 1)"
            )
        if y.dtype.kind not in "biuf":
            raise DataError(f"binary_cross_entropy: targets must be 0/1 labels, got dtype {y.dtype}")
        lo, hi = y.min(), y.max()
        if not (lo >= 0 and hi <= 1):
            raise DataError(
                f"binary_cross_entropy: targets must be labels 0/1 (or probabilities in [0, 1]), "
                f"got values from {lo} to {hi}"
            )
        return y.reshape(z.shape).astype(z.dtype, copy=False)

    def _compute(self, z, y, need_grad):
        e = np.exp(-np.abs(z))  # in (0, 1]: never overflows
        per = np.maximum(z, 0.0) - z * y + np.log1p(e)
        value = _mean(per)
        if not need_grad:
            return value, None
        p = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))  # σ(z) from the same exp
        p -= y
        p *= 1.0 / z.shape[0]
        return value, p.astype(z.dtype, copy=False)

    def output(self, logits) -> np.ndarray:
        """Probability of class 1, σ(logits), in the logits' shape."""
        return sigmoid(_as_logits(self.name, logits))

    def predict_labels(self, logits) -> np.ndarray:
        """Class 1 where the logit is positive (p > ½), else 0; shape (N,)."""
        z = _as_logits(self.name, logits)
        return (z.reshape(z.shape[0], -1)[:, 0] > 0).astype(np.int64)


@LOSSES.register("cross_entropy", "categorical_cross_entropy", "softmax_cross_entropy", "ce")
class CrossEntropy(ClassificationLoss):
    """Softmax cross-entropy from logits (PyTorch CrossEntropyLoss), optionally with label smoothing.

    log softmax(z)_k = z_k − logsumexp(z) with logsumexp(z) = m + log Σ exp(z_j − m), m = max z;
    L = −(1/N)·Σ_n Σ_k t_nk·log softmax(z_n)_k and ∂L/∂z = (softmax(z) − t)/N (errata: o_k − t_k).
    Targets are class indices of shape (N,) (or class probabilities of shape (N, C), e.g. from mixup).
    ``label_smoothing`` ε mixes the targets with the uniform distribution: t = (1−ε)·onehot + ε/C
    (Szegedy et al. 2016). Takes logits, not probabilities: softmaxing first would apply it twice.
    """

    def __init__(self, label_smoothing: float = 0.0):
        check_range("cross_entropy", "label_smoothing", label_smoothing, 0.0, 1.0, high_inclusive=False)
        self.label_smoothing = float(label_smoothing)

    def _targets(self, z, y):
        if z.ndim != 2 or z.shape[1] < 2:
            raise ShapeError(
                f"cross_entropy: expected logits of shape (N, C) with C >= 2 classes, got {z.shape}"
                + ("; for one logit per sample use binary_cross_entropy" if z.ndim == 2 else "")
            )
        n, c = z.shape
        y = np.asarray(y)
        if y.shape == (n, c) and y.dtype.kind in "biuf":  # class probabilities (or one-hot rows)
            return y.astype(z.dtype, copy=False)
        if y.shape != (n,):
            raise ShapeError(
                f"cross_entropy: targets of shape {y.shape} do not fit logits of shape {z.shape}; "
                f"expected class indices of shape ({n},) or probabilities of shape ({n}, {c})"
            )
        if y.dtype.kind not in "biu":
            raise DataError(f"cross_entropy: class-index targets must be integers, got dtype {y.dtype}")
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= c:
            raise DataError(
                f"cross_entropy: class indices must lie in 0..{c - 1} for {c} logits, got values from {lo} to {hi}"
            )
        return y.astype(np.intp, copy=False)

    def _compute(self, z, y, need_grad):
        n, c = z.shape
        eps = self.label_smoothing
        ops = kernels.active()
        if ops is not None and y.ndim == 1 and z.dtype.char in "fd" and z.flags.c_contiguous and y.flags.c_contiguous:
            return self._kernel(ops.softmax, z, y, need_grad)
        s = z - z.max(axis=1, keepdims=True)  # shifted logits, max 0
        e = np.exp(s)
        total = e.sum(axis=1, keepdims=True)
        lse = np.log(total)  # logsumexp(s), in [0, log C]
        if y.ndim == 1:  # class indices
            rows = np.arange(n)
            per = lse[:, 0] - s[rows, y]  # −log softmax at the true class
            if eps:
                per = (1.0 - eps) * per + eps * (lse[:, 0] - s.mean(axis=1))
        else:  # probabilities t: Σ_k t_k·(lse − s_k)
            t = y if not eps else (1.0 - eps) * y + eps / c
            per = t.sum(axis=1) * lse[:, 0] - np.einsum("ij,ij->i", t, s)
        value = _mean(per)
        if not need_grad:
            return value, None
        e /= total  # softmax
        if y.ndim == 1:
            e[rows, y] -= 1.0 - eps
            if eps:
                e -= eps / c
        else:
            e *= t.sum(axis=1, keepdims=True)  # = softmax when the targets sum to 1
            e -= t
        e *= 1.0 / n
        return value, e

    def _kernel(self, k, z, y, need_grad):
        """The formula above in one compiled pass over the rows (kernels/softmax.py)."""
        n, c = z.shape
        f, eps = z.dtype.type, self.label_smoothing
        per = np.empty(n, z.dtype)
        grad = np.empty_like(z) if need_grad else np.empty((1, c), z.dtype)
        k.cross_entropy(
            2 * n * c, z, y, f(eps), f(1.0 - eps), f(eps / c), f(1.0 / c), f(1.0 / n), need_grad, per, grad
        )  # fmt: skip
        return _mean(per), grad if need_grad else None

    def output(self, logits) -> np.ndarray:
        """Class probabilities softmax(logits), rows summing to 1."""
        return softmax(_as_logits(self.name, logits))

    def predict_labels(self, logits) -> np.ndarray:
        """The class with the largest logit (= the largest probability); shape (N,)."""
        return np.argmax(_as_logits(self.name, logits), axis=1)


def default_loss(task: str, n_outputs: int | None = None) -> str:
    """The natural loss spec for a task: cross_entropy for classification, mse for regression.

    A classifier with a single output logit gets binary_cross_entropy (softmax over one logit is
    constant); two or more logits use cross_entropy, which is also right for two classes.
    """
    check_choice("loss", "task", task, ("classification", "regression"))
    if task == "regression":
        return "mse"
    return "binary_cross_entropy" if n_outputs == 1 else "cross_entropy"
