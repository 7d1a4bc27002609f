"""Activations that are not elementwise: maxout (a max over groups of units) and softmax (a
normalization over the features of a sample)."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..registry import check_range
from .activations import ACTIVATIONS, Activation

# --- not elementwise -----------------------------------------------------------------------------------


@ACTIVATIONS.register("maxout")
class Maxout(Activation):
    """Maxout (Goodfellow et al. 2013): the maximum over groups of ``pieces`` consecutive units.

    Flat input (F,): output unit j = max(x[j·k], …, x[j·k + k − 1]), k = pieces, shape (F/k,). Images
    (C, H, W): the same over groups of k consecutive channels, pixel by pixel, shape (C/k, H, W).
    The gradient goes to the unit that attained the maximum (the first one on ties). With a dense
    layer of F units before it, maxout learns a convex piecewise-linear activation with k pieces.
    """

    def __init__(self, pieces: int = 2):
        super().__init__()
        check_range("maxout", "pieces", pieces, 1)
        self.pieces = int(pieces)

    def compute_output_shape(self, input_shape):
        k, units = self.pieces, input_shape[0]
        if units % k:
            kind = "features" if len(input_shape) == 1 else "channels"
            raise ShapeError(
                f"maxout:pieces={k} needs the number of {kind} to be divisible by {k}; got input shape "
                f"{tuple(input_shape)} ({units} {kind}); use a multiple of {k} units before it"
            )
        return (units // k, *input_shape[1:])

    def forward(self, x, training=False):
        n, k = x.shape[0], self.pieces
        xr = x.reshape(n, -1, k, int(np.prod(x.shape[2:], dtype=np.int64)))  # (N, groups, k, pixels)
        y = xr[:, :, 0].copy()
        for j in range(1, k):  # k − 1 whole-array maxima (faster than argmax over a short axis)
            np.maximum(y, xr[:, :, j], out=y)
        self._xr, self._y, self._shape = xr, y, x.shape
        return y.reshape(n, -1, *x.shape[2:])

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        xr, y = self._xr, self._y
        dyr = dy.reshape(y.shape)
        dx = np.empty_like(xr)
        free = np.ones(y.shape, dtype=bool)  # groups whose gradient is not yet routed
        for j in range(self.pieces):
            hit = xr[:, :, j] == y
            hit &= free
            free &= ~hit
            np.multiply(dyr, hit, out=dx[:, :, j])
        return dx.reshape(self._shape)


@ACTIVATIONS.register("softmax")
class Softmax(Activation):
    """softmax(x)_i = e^(x_i) / Σ_j e^(x_j) over the features (over the channels, per pixel, for
    images); computed as e^(x − max x), which cannot overflow.

    Models output logits and the cross-entropy loss applies softmax itself (its gradient is then
    simply p − t), so this layer is for inspecting probabilities, not for training classifiers. Its
    backward is the Jacobian-vector product dx = y ⊙ (dy − Σ_j dy_j·y_j).
    """

    bounds = (0.0, 1.0)

    def forward(self, x, training=False):
        y = x - x.max(axis=1, keepdims=True)
        np.exp(y, out=y)
        y /= y.sum(axis=1, keepdims=True)
        self._y = y
        return y

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        y = self._y
        dx = dy - np.sum(dy * y, axis=1, keepdims=True)
        dx *= y
        return dx
