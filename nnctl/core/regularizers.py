"""Weight penalties added to the loss: L2 (weight decay in the loss), L1 (sparsity) and both.

A regularizer sees the model's *regularized weights*: the first ``n_decay`` entries of the flat
parameter buffer, ``params[:n_decay]``, with the matching gradient slice ``grads[:n_decay]``. Biases,
batch-norm scales and shifts and PReLU slopes come after them and are never penalized (shrinking a
bias towards 0 does not make a network simpler).

* ``penalty(w) -> float``: the term added to the reported loss (the ``reg_loss`` column).
* ``add_grad(w, g)``: adds ∂penalty/∂w into ``g`` in place, after the backward pass.

Conventions (see CONVENTIONS.md): the strength is called ``lam`` (``lambda`` is a Python keyword).
The L2 penalty is λ/2·Σw² with gradient λ·w, so ``l2:lam=1e-4`` adds exactly what PyTorch's
``weight_decay=1e-4`` adds to the gradient. Keras' L2(λ) is λ·Σw² (no ½, so twice the gradient);
Nielsen divides by the training-set size n as well: λ/(2n)·Σw². The penalty is not divided by the
batch size, so its weight relative to the data term does not change with the batch size.

The gradient is added with whole-buffer in-place operations on a reused scratch buffer of the
weights' own dtype: no float64 upcast and no allocation per step.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import Component, Registry, check_range

REGULARIZERS = Registry("regularizer")


def _check_strength(component: str, key: str, value: float) -> float:
    check_range(component, key, value, 0.0, math.inf, high_inclusive=False)
    return float(value)


class Regularizer(Component):
    """Base regularizer: ``penalty(w)`` and ``add_grad(w, g)`` on flat 1-D weight/gradient slices."""

    _scratch: np.ndarray | None = None

    def penalty(self, w: np.ndarray) -> float:
        raise NotImplementedError

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def _buffer(self, w: np.ndarray) -> np.ndarray:
        """A scratch array like ``w``, allocated once and reused while shape and dtype stay the same."""
        buf = self._scratch
        if buf is None or buf.shape != w.shape or buf.dtype != w.dtype:
            buf = self._scratch = np.empty_like(w)
        return buf


def _l2_penalty(w: np.ndarray) -> float:
    """½·Σw² as a float (one BLAS dot product over the flat weights)."""
    flat = w.reshape(-1)
    return 0.5 * float(np.dot(flat, flat))


def _l1_penalty(w: np.ndarray) -> float:
    """Σ|w| as a float."""
    return float(np.abs(w).sum())


@REGULARIZERS.register("l2", "ridge")
class L2(Regularizer):
    """L2 penalty λ/2·Σw² with gradient λ·w: pulls every weight towards 0 in proportion to its size.

    Also known as weight decay (for plain SGD the two are the same update) or ridge / Tikhonov
    regularization. Small weights make the network's function smoother and less able to fit noise.
    """

    def __init__(self, lam: float = 0.0):
        self.lam = _check_strength("l2", "lam", lam)

    def penalty(self, w: np.ndarray) -> float:
        return self.lam * _l2_penalty(w)

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        if self.lam:
            buf = self._buffer(w)
            np.multiply(w, self.lam, out=buf)
            g += buf


@REGULARIZERS.register("l1", "lasso")
class L1(Regularizer):
    """L1 penalty λ·Σ|w| with gradient λ·sign(w): a constant pull towards 0 that makes weights sparse.

    |w| has no derivative at 0; the subgradient sign(0) = 0 is used, i.e. a weight that is exactly 0
    gets the unregularized update (lecture note 004; the notes' "λ/2·abs(W)" is a slip for λ·Σ|w|).
    """

    def __init__(self, lam: float = 0.0):
        self.lam = _check_strength("l1", "lam", lam)

    def penalty(self, w: np.ndarray) -> float:
        return self.lam * _l1_penalty(w)

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        if self.lam:
            buf = self._buffer(w)
            np.sign(w, out=buf)
            buf *= self.lam
            g += buf


@REGULARIZERS.register("l1_l2", "elastic_net")
class L1L2(Regularizer):
    """Elastic net: l1·Σ|w| + l2/2·Σw², gradient l1·sign(w) + l2·w (Zou & Hastie 2005).

    Combines L1's sparsity with L2's stability among correlated weights; ``l1`` and ``l2`` are the
    two strengths, with the same conventions as the ``l1`` and ``l2`` regularizers.
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1 = _check_strength("l1_l2", "l1", l1)
        self.l2 = _check_strength("l1_l2", "l2", l2)

    def penalty(self, w: np.ndarray) -> float:
        total = 0.0
        if self.l1:
            total += self.l1 * _l1_penalty(w)
        if self.l2:
            total += self.l2 * _l2_penalty(w)
        return total

    def add_grad(self, w: np.ndarray, g: np.ndarray) -> None:
        if not (self.l1 or self.l2):
            return
        buf = self._buffer(w)
        np.sign(w, out=buf)
        buf *= self.l1
        g += buf
        np.multiply(w, self.l2, out=buf)
        g += buf


def make_regularizer(l1: float = 0.0, l2: float = 0.0) -> Regularizer | None:
    """The regularizer for the run options ``l1`` and ``l2``: None, l1, l2 or l1_l2.

    Raises ConfigError for a negative (or infinite, or NaN) strength.
    """
    l1 = _check_strength("regularizer", "l1", l1)
    l2 = _check_strength("regularizer", "l2", l2)
    if l1 and l2:
        return L1L2(l1=l1, l2=l2)
    if l1:
        return L1(lam=l1)
    if l2:
        return L2(lam=l2)
    return None
