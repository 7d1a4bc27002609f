"""Dropout and batch normalization: layers that behave differently in training and evaluation."""

from __future__ import annotations

import numpy as np

from ..registry import check_range
from .base import LAYERS, BuildContext, Layer


def _fill(value: float):
    def init(shape, fan_in, fan_out, rng):
        return np.full(shape, value)

    return init


@LAYERS.register("dropout")
class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014).

    While training each unit is kept with probability 1−p and kept units are scaled by 1/(1−p), so
    E[output] = input and evaluation is the identity (PyTorch's convention; Nielsen's network3 instead
    scales by 1−p at test time, which gives the same expectation). The notes suggest p = 0.5 for
    hidden units and 0.2 for inputs.
    """

    has_training_mode = True

    def __init__(self, rate: float = 0.5):
        super().__init__()
        check_range("dropout", "rate", rate, 0.0, 1.0, high_inclusive=False)
        self.rate = float(rate)

    def forward(self, x, training=False):
        if not training or self.rate == 0.0:
            self._mask = None
            return x
        keep = 1.0 - self.rate
        mask = self.rng.random(x.shape, dtype=x.dtype if x.dtype == np.float32 else np.float64) < keep
        self._mask = mask.astype(x.dtype) * x.dtype.type(1.0 / keep)
        return x * self._mask

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        return dy if self._mask is None else dy * self._mask

    def label(self):
        return f"dropout({self.rate:g})"


@LAYERS.register("batch_norm", "bn", "batchnorm")
class BatchNorm(Layer):
    """Batch normalization (Ioffe & Szegedy 2015).

    Training: x̂ = (x − μ_B)/√(σ²_B + ε), y = γ·x̂ + β, with μ_B, σ²_B the batch statistics per
    feature (per channel over N, H, W for images). Running averages follow PyTorch:
    running ← (1−m)·running + m·batch with m = 0.1, the running variance using the unbiased
    estimate. Evaluation uses the running averages. The input gradient in training mode, where
    μ_B and σ_B depend on every sample of the batch, is

        dx = (γ/σ_B)·(dy − mean(dy) − x̂·mean(dy·x̂))      (means over the normalized axes);

    after an evaluation-mode forward the layer is a fixed affine map per feature, so
    dx = γ/√(running_var + ε)·dy. A training batch with a single value per feature (batch size 1
    of a dense input) has σ²_B = 0: the output is β and, since one value says nothing about the
    spread, the running variance is left as it is (PyTorch raises an error instead).
    """

    has_training_mode = True

    def __init__(self, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        check_range("batch_norm", "momentum", momentum, 0.0, 1.0)
        check_range("batch_norm", "eps", eps, 0.0, low_inclusive=False)
        self.momentum = float(momentum)
        self.eps = float(eps)

    def build(self, input_shape, ctx: BuildContext):
        out = super().build(input_shape, ctx)
        shape = self.input_shape
        # statistics over the batch for features, over batch and pixels for images (C, H, W)
        self._axes = (0,) if len(shape) == 1 else (0, *range(2, len(shape) + 1))
        pshape = (shape[0],) + (1,) * (len(shape) - 1)
        self.add_param("gamma", pshape, _fill(1.0), regularize=False)
        self.add_param("beta", pshape, _fill(0.0), regularize=False)
        self.running_mean = np.zeros(pshape, dtype=self.dtype)
        self.running_var = np.ones(pshape, dtype=self.dtype)
        return out

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def forward(self, x, training=False):
        gamma, beta = self.params["gamma"], self.params["beta"]
        if training:
            mean = x.mean(axis=self._axes, keepdims=False)
            xc = x - mean.reshape(gamma.shape)
            var = np.mean(xc * xc, axis=self._axes)
            count = x.size // gamma.size
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean.reshape(gamma.shape)
            if count > 1:
                self.running_var *= 1 - m
                self.running_var += m * (var * (count / (count - 1))).reshape(gamma.shape)
            inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype).reshape(gamma.shape)
        else:
            xc = x - self.running_mean
            inv_std = (1.0 / np.sqrt(self.running_var + self.eps)).astype(x.dtype)
        xhat = xc * inv_std
        self._xhat, self._inv_std, self._training = xhat, inv_std, training
        return xhat * gamma + beta

    def backward(self, dy):
        xhat, inv_std = self._xhat, self._inv_std
        gshape = self.params["gamma"].shape
        self.grads["beta"][...] = dy.sum(axis=self._axes).reshape(gshape)
        self.grads["gamma"][...] = (dy * xhat).sum(axis=self._axes).reshape(gshape)
        if not self.need_input_grad:
            return None
        if not self._training:  # fixed statistics: a per-feature affine map
            return (self.params["gamma"] * inv_std) * dy
        count = dy.size // self.params["gamma"].size
        mean_dy = self.grads["beta"] / count
        mean_dy_xhat = self.grads["gamma"] / count
        return (self.params["gamma"] * inv_std) * (dy - mean_dy - xhat * mean_dy_xhat)

    def label(self):
        return "batch_norm"
