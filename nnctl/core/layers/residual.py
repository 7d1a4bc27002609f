"""Residual block (He et al. 2016): y = x + F(x).

The identity path carries the gradient around F unchanged, dL/dx = dL/dy + F'(x)ᵀ·dL/dy, which is
why very deep stacks of residual blocks remain trainable when the same stack without skips is not.
When F changes the width, the skip becomes a learned projection x·P (no bias), as in the paper's
option (B). An image input (C, H, W) feeding a block that ends in flat features (dense layers
flatten their input) is flattened on the skip too: the identity when the sizes agree (the 8×8
digits into ``res(dense:64,relu,dense:64)``), else the projection of the flattened image.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError, ShapeError
from .base import LAYERS, BuildContext, Layer
from .dense import _initializer


@LAYERS.register("residual", "res")
class Residual(Layer):
    """y = x + F(x) where F is a sequence of layers; a projection is added when shapes differ."""

    def __init__(self, layers: Any = None, projection_init: str = "glorot_uniform"):
        super().__init__()
        if not layers:
            raise ConfigError("residual: a block needs at least one layer inside, e.g. res(dense:64,relu,dense:64)")
        if not isinstance(layers, (list, tuple)) or not all(isinstance(layer, Layer) for layer in layers):
            raise ConfigError(
                f"residual: layers of type {type(layers).__name__} are not allowed; expected a list of layers — "
                "write a block in a model string, e.g. res(dense:64,relu,dense:64)"
            )
        self.layers = list(layers)
        self.projected = False  # set by build: whether the skip needs a projection
        self.flatten_skip = False  # set by build: an image input whose skip is flattened
        self.projection_init = projection_init
        self._proj_init = _initializer(projection_init)

    def children(self):
        return list(self.layers)

    def build(self, input_shape, ctx: BuildContext):
        super().build(input_shape, ctx)
        shape = self.input_shape
        for i, layer in enumerate(self.layers):
            try:
                shape = layer.build(shape, ctx)
            except ShapeError as exc:
                raise ShapeError(f"inside residual block, layer {i + 1} ({layer.label()}): {exc}") from None
            layer.need_input_grad = True
        self.output_shape = shape
        fan_in = int(np.prod(self.input_shape))
        self.flatten_skip = len(shape) == 1 and len(self.input_shape) > 1
        self.projected = shape != self.input_shape and not (self.flatten_skip and fan_in == shape[0])
        if self.projected:
            if len(shape) != 1:
                raise ShapeError(
                    f"residual block maps {self.input_shape} to {shape}; a projection skip is only "
                    "supported onto flat features — keep image shapes equal inside the block"
                )
            fan_out = shape[0]
            self.add_param("P", (fan_in, fan_out), self._proj_init, fan_in=fan_in, fan_out=fan_out, regularize=True)
        return shape

    def forward(self, x, training=False):
        flat = x.reshape(len(x), -1) if self.flatten_skip else x
        self._x = flat
        h = x
        for layer in self.layers:
            h = layer.forward(h, training)
        skip = flat @ self.params["P"] if self.projected else flat
        return h + skip

    def backward(self, dy):
        d = dy
        for layer in reversed(self.layers):
            d = layer.backward(d)
        if self.projected:
            np.matmul(self._x.T, dy, out=self.grads["P"])
            if not self.need_input_grad:
                return None
            skip = dy @ self.params["P"].T
        else:
            if not self.need_input_grad:
                return None
            skip = dy
        return d + skip.reshape(d.shape)

    def to_config(self):
        return {
            "type": self.name,
            "layers": [layer.to_config() for layer in self.layers],
            "projection_init": self.projection_init,
        }

    def get_config(self):
        return {"layers": [layer.to_config() for layer in self.layers], "projection_init": self.projection_init}

    def label(self):
        inner = ", ".join(layer.label() for layer in self.layers)
        return f"residual[{inner}]" + (" +proj" if self.projected else "")
