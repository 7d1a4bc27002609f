"""Per-parameter learning rates from accumulated squared gradients: adagrad, rmsprop, adadelta."""

from __future__ import annotations

import numpy as np

from .base import OPTIMIZERS, Optimizer, _descend, _ema


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): s ← s + g²; θ ← θ − lr·g/(√s + ε).

    PyTorch defaults: lr 0.01, ε 1e-10 outside the root, accumulator starting at 0. The lecture notes
    put ε inside the root (√(s + ε)); Keras starts the accumulator at 0.1 with ε 1e-7.
    """

    def __init__(
        self, lr: float = 0.01, eps: float = 1e-10, initial_accumulator: float = 0.0, weight_decay: float = 0.0
    ):
        super().__init__(lr, weight_decay)
        self.eps = eps
        self.initial_accumulator = initial_accumulator
        self._check(eps=eps, initial_accumulator=initial_accumulator)

    def state_names(self):
        return ("sum",)

    def _init_state(self):
        self.state["sum"].fill(self.initial_accumulator)

    def _update(self, p, g, lr, b):
        g = self._grad(p, g, b)
        s, tmp = b.state["sum"], b.scratch[0]
        np.multiply(g, g, out=tmp)
        np.add(s, tmp, out=s)
        np.sqrt(s, out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(g, tmp, out=tmp)
        _descend(p, lr, tmp, tmp)

    def _fused(self, k, p, g, lr):
        f = p.dtype.type
        k.adagrad(
            self._work(p), p, g, self.state["sum"], self.n_decay, self.decays, f(self.weight_decay), f(lr), f(self.eps)
        )  # fmt: skip
        return True


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e): v ← α·v + (1−α)·g²; θ ← θ − lr·g/(√v + ε).

    PyTorch defaults lr 0.01, α 0.99, ε 1e-8 outside the root. ``centered`` divides by the estimated
    standard deviation √(v − ḡ²) with ḡ ← α·ḡ + (1−α)·g; ``momentum`` > 0 accumulates
    b ← μ·b + g/(√v + ε) (b starts at 0) and steps θ ← θ − lr·b. The lecture notes use β = 0.9 and
    ε inside the root (g/√(v + ε)), as Keras does (ρ 0.9, ε 1e-7).
    """

    def __init__(
        self,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        centered: bool = False,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        self.centered = centered
        self._check(alpha=alpha, eps=eps, momentum=momentum)

    def state_names(self):
        names = ("square_avg",)
        if self.momentum > 0:
            names += ("momentum_buffer",)
        if self.centered:
            names += ("grad_avg",)
        return names

    def _update(self, p, g, lr, blk):
        g = self._grad(p, g, blk)
        v, tmp = blk.state["square_avg"], blk.scratch[0]
        _ema(v, self.alpha, g, tmp, square=True)
        if self.centered:
            gbar = blk.state["grad_avg"]
            _ema(gbar, self.alpha, g, tmp)
            np.multiply(gbar, gbar, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(g, tmp, out=tmp)
        if self.momentum > 0:
            b = blk.state["momentum_buffer"]
            np.multiply(b, self.momentum, out=b)
            np.add(b, tmp, out=b)
            _descend(p, lr, b, tmp)
        else:
            _descend(p, lr, tmp, tmp)

    def _fused(self, k, p, g, lr):
        f, state = p.dtype.type, self.state
        k.rmsprop(
            self._work(p), p, g, state["square_avg"], state.get("grad_avg", p), state.get("momentum_buffer", p),
            self.n_decay, self.decays, f(self.weight_decay), f(lr), f(self.alpha), f(1.0 - self.alpha), f(self.eps),
            self.centered, f(self.momentum), self.momentum > 0, self._tiny,
        )  # fmt: skip
        return True


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): the step is scaled by the RMS of past steps over the RMS of gradients.

    v ← ρ·v + (1−ρ)·g²;  Δ = √(u + ε)/√(v + ε)·g;  u ← ρ·u + (1−ρ)·Δ²;  θ ← θ − lr·Δ.
    PyTorch defaults lr 1.0 (Zeiler's rule has no learning rate), ρ 0.9, ε 1e-6; Keras uses lr 1e-3
    and ρ 0.95.
    """

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.rho = rho
        self.eps = eps
        self._check(rho=rho, eps=eps)

    def state_names(self):
        return ("square_avg", "acc_delta")

    def n_scratch(self):
        return 2

    def _update(self, p, g, lr, b):
        g = self._grad(p, g, b)
        v, u = b.state["square_avg"], b.state["acc_delta"]
        tmp, delta = b.scratch
        _ema(v, self.rho, g, tmp, square=True)
        np.add(v, self.eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(u, self.eps, out=delta)
        np.sqrt(delta, out=delta)
        np.divide(delta, tmp, out=delta)
        np.multiply(delta, g, out=delta)
        _ema(u, self.rho, delta, tmp, square=True)
        _descend(p, lr, delta, delta)

    def _fused(self, k, p, g, lr):
        f = p.dtype.type
        k.adadelta(
            self._work(p), p, g, self.state["square_avg"], self.state["acc_delta"], self.n_decay, self.decays,
            f(self.weight_decay), f(lr), f(self.rho), f(1.0 - self.rho), f(self.eps), self._tiny,
        )  # fmt: skip
        return True
