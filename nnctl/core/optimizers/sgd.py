"""Gradient descent with and without momentum: sgd, momentum (heavy ball), nesterov."""

from __future__ import annotations

import numpy as np

from .base import OPTIMIZERS, Block, Optimizer, _descend


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Plain stochastic gradient descent: θ ← θ − lr·(g + λ·θ).

    Default lr 0.01 as in Keras; PyTorch's SGD default is 1e-3 (older versions had none).
    """

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)

    def _update(self, p, g, lr, b):
        _descend(p, lr, self._grad(p, g, b), b.scratch[0])

    def _fused(self, k, p, g, lr):
        f = p.dtype.type
        k.sgd(self._work(p), p, g, self.n_decay, self.decays, f(self.weight_decay), f(lr))
        return True


@OPTIMIZERS.register("momentum")
class Momentum(Optimizer):
    """SGD with momentum in PyTorch's form: b ← μ·b + (1−dampening)·g (b = g at t = 1); θ ← θ − lr·b.

    The lecture notes (and Sutskever et al., Keras) write v ← μ·v − lr·g; θ ← θ + v, which folds the
    learning rate into the velocity. Both give the same steps while lr is constant; when a schedule
    changes lr, PyTorch's form rescales the whole accumulated step at once.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, dampening: float = 0.0, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = momentum
        self.dampening = dampening
        self._check(momentum=momentum, dampening=dampening)

    def state_names(self):
        return ("momentum_buffer",)

    def _momentum(self, g: np.ndarray, blk: Block) -> np.ndarray:
        b = blk.state["momentum_buffer"]
        if self.t == 1:
            np.copyto(b, g)
            return b
        np.multiply(b, self.momentum, out=b)
        if self.dampening:
            tmp = blk.scratch[0]
            np.multiply(g, 1.0 - self.dampening, out=tmp)
            np.add(b, tmp, out=b)
        else:
            np.add(b, g, out=b)
        return b

    def _update(self, p, g, lr, b):
        _descend(p, lr, self._momentum(self._grad(p, g, b), b), b.scratch[0])

    def _fused(self, k, p, g, lr):
        f, nesterov = p.dtype.type, isinstance(self, Nesterov)
        k.momentum(
            self._work(p), p, g, self.state["momentum_buffer"], self.n_decay, self.decays, f(self.weight_decay), f(lr),
            f(self.momentum), f(1.0 - self.dampening), bool(self.dampening), self.t == 1, nesterov,
            self._tiny,
        )  # fmt: skip
        return True


@OPTIMIZERS.register("nesterov")
class Nesterov(Momentum):
    """Nesterov momentum in PyTorch's form: b ← μ·b + g (b = g at t = 1); θ ← θ − lr·(g + μ·b).

    This is the "look-ahead" gradient of the lecture notes (m ← β·m − η·∇J(θ + β·m); θ ← θ + m)
    rewritten in terms of the current parameters (Sutskever et al. 2013); Keras writes it as
    θ ← θ + μ·v − lr·g with v the velocity. PyTorch allows no dampening with Nesterov, nor does nnctl.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, momentum, 0.0, weight_decay)

    def _update(self, p, g, lr, blk):
        g = self._grad(p, g, blk)
        b = self._momentum(g, blk)
        tmp = blk.scratch[0]
        np.multiply(b, self.momentum, out=tmp)
        np.add(tmp, g, out=tmp)
        _descend(p, lr, tmp, tmp)
