"""Fully connected layer and flatten.

Dense: y = x·W + b with W of shape (fan_in, units). Rows of x are samples (C order), so the forward
and both backward products are single sgemm calls on contiguous operands:

    dL/dW = xᵀ·dy        dL/db = Σ_n dy        dL/dx = dy·Wᵀ

The bias add and its gradient stay NumPy calls even where the compiled kernels are active
(nnctl/core/kernels): as kernels they measured no faster, on one thread or two (docs/performance.md).
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..registry import check_range
from .base import LAYERS, BuildContext, Layer


def _initializer(spec: str):
    from ..initializers import INITIALIZERS

    return INITIALIZERS.get(spec)


@LAYERS.register("dense", "linear_layer", "fc")
class Dense(Layer):
    """Affine map y = x·W + b, W ∈ R^(fan_in × units). Image inputs (C, H, W) are flattened (a view)."""

    def __init__(self, units: int = 64, init: str = "glorot_uniform", bias_init: str = "zeros", use_bias: bool = True):
        super().__init__()
        check_range("dense", "units", units, 1)
        self.units = int(units)
        self.init = init
        self.bias_init = bias_init
        self.use_bias = bool(use_bias)
        self._init = _initializer(init)
        self._bias_init = _initializer(bias_init)

    def compute_output_shape(self, input_shape):
        if len(input_shape) == 0:
            raise ShapeError(f"dense expects features (F,) or images (C, H, W); got input shape {tuple(input_shape)}")
        return (self.units,)

    def build(self, input_shape, ctx: BuildContext):
        out = super().build(input_shape, ctx)
        fan_in = int(np.prod(self.input_shape))
        self.add_param("W", (fan_in, self.units), self._init, fan_in=fan_in, fan_out=self.units, regularize=True)
        if self.use_bias:
            self.add_param("b", (self.units,), self._bias_init, fan_in=fan_in, fan_out=self.units)
        return out

    def forward(self, x, training=False):
        self._shape = x.shape
        if x.ndim > 2:
            x = x.reshape(x.shape[0], -1)
        self._x = x
        y = x @ self.params["W"]
        if self.use_bias:
            y += self.params["b"]
        return y

    def backward(self, dy):
        np.matmul(self._x.T, dy, out=self.grads["W"])
        if self.use_bias:
            np.sum(dy, axis=0, out=self.grads["b"])
        if not self.need_input_grad:
            return None
        dx = dy @ self.params["W"].T
        return dx.reshape(self._shape) if len(self._shape) > 2 else dx

    def label(self):
        return f"dense({self.units}, init={self.init})"


@LAYERS.register("flatten")
class Flatten(Layer):
    """Reshape (N, C, H, W) → (N, C·H·W); a view, so it costs nothing."""

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def forward(self, x, training=False):
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        return dy.reshape(self._shape)
