"""Pooling: max, average and global average over image windows.

A pooling layer summarizes each size × size window (moved by ``stride``, default ``size``) of each
channel separately; it has no parameters. With Ho = ⌊(H − size)/stride⌋ + 1 (PyTorch's floor mode,
no padding), output pixel (i, j) sees the input pixels (stride·i + u, stride·j + v), 0 ≤ u, v < size.

Max pooling passes on the largest value of each window. Its derivative is 1 for that one input and
0 for the others, so the forward pass records *which* input won — the "switches" — and the backward
pass routes each output gradient to exactly that position. On ties the first position in the window
(row-major) wins, so a gradient is never duplicated.

Average pooling passes on the mean, so every input of a window receives dL/dy / size².

Implementation: both loop over the size² window offsets, each step a whole-batch operation on the
strided view x[:, :, u::stride, v::stride]. This one code path serves overlapping and
non-overlapping windows alike; in the common non-overlapping case (stride = size) the backward pass
writes each offset's slice exactly once (no zero fill when the windows tile the image). It was
measured faster than reshaping to (N, C, H/s, s, W/s, s) and reducing over the window axes, which on
the channel-major memory that convolutions return runs ~20× slower (the reduction axes are not
contiguous), and faster than an argmax over copied windows.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import LAYERS, Layer
from .conv import image_shape, int_param


class _Pool2D(Layer):
    """Shared shape logic and window views for max and average pooling."""

    def __init__(self, size: int = 2, stride: int | None = None):
        super().__init__()
        self.size = int_param(self.name, "size", size)
        self.stride = None if stride is None else int_param(self.name, "stride", stride)

    @property
    def _step(self) -> int:
        return self.size if self.stride is None else self.stride

    def compute_output_shape(self, input_shape):
        c, h, w = image_shape(self.name, input_shape)
        if self.size > h or self.size > w:
            raise ShapeError(
                f"{self.name}: pool {self.size}x{self.size} is larger than the input image; "
                f"got input shape {(c, h, w)}"
            )
        st = self._step
        return (c, (h - self.size) // st + 1, (w - self.size) // st + 1)

    def _offsets(self):
        return [(u, v) for u in range(self.size) for v in range(self.size)]

    def _view(self, a: np.ndarray, u: int, v: int) -> np.ndarray:
        """The inputs at window offset (u, v) of every window: shape (N, C, Ho, Wo), a view."""
        st, (_, ho, wo) = self._step, self.output_shape
        return a[:, :, u : u + st * (ho - 1) + 1 : st, v : v + st * (wo - 1) + 1 : st]

    def _grad_buffer(self, x: np.ndarray, dtype) -> np.ndarray:
        """dL/dx in the memory layout of x: uninitialized when the windows tile x exactly."""
        _, h, w = self.input_shape
        _, ho, wo = self.output_shape
        tiles = self._step == self.size and ho * self.size == h and wo * self.size == w
        return (np.empty_like if tiles else np.zeros_like)(x, dtype=dtype)

    def label(self):
        return f"{self.name}({self.size}" + ("" if self.stride is None else f", stride={self.stride}") + ")"


@LAYERS.register("maxpool", "max_pool")
class MaxPool2D(_Pool2D):
    """Max pooling; records the argmax switches and routes gradients through them."""

    def forward(self, x, training=False):
        offsets = self._offsets()
        y = self._view(x, 0, 0).copy(order="K")
        for u, v in offsets[1:]:
            np.maximum(y, self._view(x, u, v), out=y)
        # switches: index u·size + v of the first window position holding the maximum
        idx_type = np.uint8 if len(offsets) <= 255 else np.int32
        switches = np.zeros(y.shape, idx_type)
        found = self._view(x, 0, 0) == y
        for k, (u, v) in enumerate(offsets[1:], start=1):
            hit = self._view(x, u, v) == y
            hit &= ~found
            found |= hit
            switches += hit * idx_type(k)
        self.switches = switches
        self._x = x
        return y

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        dx = self._grad_buffer(self._x, dy.dtype)
        overlapping = self._step < self.size
        for k, (u, v) in enumerate(self._offsets()):
            view = self._view(dx, u, v)
            if overlapping:
                view += dy * (self.switches == k)
            else:
                np.multiply(dy, self.switches == k, out=view)
        return dx


@LAYERS.register("avgpool", "avg_pool")
class AvgPool2D(_Pool2D):
    """Average pooling: y = mean of each window; each input gets dL/dy / size²."""

    def forward(self, x, training=False):
        offsets = self._offsets()
        y = self._view(x, 0, 0).copy(order="K")
        for u, v in offsets[1:]:
            y += self._view(x, u, v)
        y *= y.dtype.type(1.0 / len(offsets))
        self._x = x
        return y

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        g = dy * dy.dtype.type(1.0 / self.size**2)
        dx = self._grad_buffer(self._x, dy.dtype)
        overlapping = self._step < self.size
        for u, v in self._offsets():
            view = self._view(dx, u, v)
            if overlapping:
                view += g
            else:
                view[...] = g
        return dx


@LAYERS.register("global_avg_pool", "gap")
class GlobalAvgPool2D(Layer):
    """Global average pooling (Lin et al. 2014): y[n, c] = mean over H, W; (C, H, W) → (C,)."""

    def compute_output_shape(self, input_shape):
        c, _, _ = image_shape("global_avg_pool", input_shape)
        return (c,)

    def forward(self, x, training=False):
        self._x = x
        return x.mean(axis=(2, 3))

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        _, h, w = self.input_shape
        dx = np.empty_like(self._x, dtype=dy.dtype)
        dx[...] = (dy * dy.dtype.type(1.0 / (h * w)))[:, :, None, None]
        return dx
