"""Pooling: max, average and global average over image windows.

A pooling layer summarizes each size × size window (moved by ``stride``, default ``size``) of each
channel separately; it has no parameters. With Ho = ⌊(H − size)/stride⌋ + 1 (PyTorch's floor mode,
no padding), output pixel (i, j) sees the input pixels (stride·i + u, stride·j + v), 0 ≤ u, v < size.

Max pooling passes on the largest value of each window. Its derivative is 1 for that one input and
0 for the others, so the forward pass records *which* input won — the "switches" — and the backward
pass routes each output gradient to exactly that position. On ties the first position in the window
(row-major) wins, so a gradient is never duplicated.

Average pooling passes on the mean, so every input of a window receives dL/dy / size².

Implementation: average pooling and overlapping max pooling loop over the size² window offsets,
each step a whole-batch operation on the strided view x[:, :, u::stride, v::stride]; that was
measured faster than reshaping to (N, C, H/s, s, W/s, s) and reducing over the window axes, which on
the channel-major memory that convolutions return runs ~20× slower (the reduction axes are not
contiguous), and faster than an argmax over copied windows.

Non-overlapping max pooling (stride = size, the usual case) is separable: the first position of a
window holding its maximum (row-major) lies in the first window row that reaches the maximum, at
the first column of that row that does. The forward pass therefore reduces along the columns of
each window (size − 1 comparisons and maxima on views of every size-th column), then along the rows
of the result, recording at each stage which index won with a strict ">" (so ties keep the earlier
one); the backward pass routes dL/dy back through the two stages. That is about four passes over
the data instead of five per window offset, with the same switches as the general path.
"""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..errors import ShapeError
from ..kernels.images import as_planes, empty_planes
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
                f"{self.name}: pool {self.size}x{self.size} is larger than the input image; got input shape {(c, h, w)}"
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

    def _kernel_ops(self, x: np.ndarray):
        """The compiled operations when they are active and take ``x`` (float32/float64), else None."""
        ops = kernels.active()
        return ops if ops is not None and x.dtype.char in "fd" else None


@LAYERS.register("maxpool", "max_pool")
class MaxPool2D(_Pool2D):
    """Max pooling; records the argmax switches and routes gradients through them."""

    def forward(self, x, training=False):
        self._x = x
        self._where = None
        ops = self._kernel_ops(x)
        if ops is not None:
            return self._forward_kernel(ops.pool, x)
        if self._step == self.size:
            return self._forward_separable(x)
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
        self._switches = switches
        return y

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        if self._where is not None:
            return self._backward_kernel(dy)
        if self._step == self.size:
            return self._backward_separable(dy)
        dx = self._grad_buffer(self._x, dy.dtype)
        for k, (u, v) in enumerate(self._offsets()):
            self._view(dx, u, v)[...] += dy * (self._switches == k)
        return dx

    # --- non-overlapping windows: columns, then rows (module docstring) ---------------------------
    @staticmethod
    def _reduce(views: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Elementwise max over ``views`` and the index of the first view holding it."""
        best = np.maximum(views[0], views[1])
        index = np.greater(views[1], views[0]).view(np.uint8)  # 1 where the second strictly wins
        for k in range(2, len(views)):
            hit = np.greater(views[k], best)
            np.maximum(best, views[k], out=best)
            np.copyto(index, np.uint8(k), where=hit)
        return best, index

    @staticmethod
    def _route(d: np.ndarray, index: np.ndarray, outs: list[np.ndarray]) -> None:
        """Send ``d`` to ``outs[index]``, zeros to the other views (the inverse of :meth:`_reduce`)."""
        if len(outs) == 2:  # d·[second won], and d minus that for the first: exact, two passes
            np.multiply(d, index.view(np.bool_), out=outs[1])
            np.subtract(d, outs[1], out=outs[0])
            return
        for k, out in enumerate(outs):
            np.multiply(d, index == k, out=out)

    def _forward_separable(self, x):
        self._switches = None  # computed on demand from the two stages' indices
        s, (_, ho, wo) = self.size, self.output_shape
        x = x[:, :, : ho * s, : wo * s]  # floor mode: rows/columns past the last window are ignored
        if s == 1:
            self._col_index = self._row_index = np.zeros(x.shape, np.uint8)
            return x.copy(order="K")
        cols, self._col_index = self._reduce([x[..., v::s] for v in range(s)])  # (N, C, Ho·s, Wo)
        y, self._row_index = self._reduce([cols[:, :, u::s] for u in range(s)])  # (N, C, Ho, Wo)
        return y

    # --- compiled kernels (module docstring) -------------------------------------------------------
    def _forward_kernel(self, k, x):
        self._switches = None
        xs, xsn, xsc, like = as_planes(x)
        n, c = x.shape[:2]
        _, ho, wo = self.output_shape
        y, ys, ysn, ysc = empty_planes((n, c, ho, wo), like, x.dtype)
        where = np.empty(ys.shape, np.int32)
        k.max_forward(x.size + 2 * y.size, xs, xsn, xsc, ys, ysn, ysc, where, n, c, self.size, self._step)
        self._where = (k, where, ysn, ysc, like)
        return y

    def _backward_kernel(self, dy):
        k, where, wsn, wsc, like = self._where
        dys, dysn, dysc, _ = as_planes(dy.astype(self._x.dtype, copy=False))
        n, c = dy.shape[:2]
        dx, dxs, dxsn, dxsc = empty_planes(self._x.shape, like, self._x.dtype)
        zero, size, step = self._x.dtype.type(0), self.size, self._step
        k.max_backward(dx.size + 2 * dy.size, dys, dysn, dysc, where, wsn, wsc, dxs, dxsn, dxsc, n, c, size, step, zero)
        return dx

    @property
    def switches(self) -> np.ndarray:
        """Index u·size + v of the first window position holding each maximum (for inspection)."""
        if getattr(self, "_where", None) is not None:
            _, where, wsn, wsc, _ = self._where
            n, c = self._x.shape[:2]
            _, ho, wo = self.output_shape
            w, st = self._x.shape[3], self._step
            at = np.stack([where[i * wsn + j * wsc] for i in range(n) for j in range(c)]).reshape(n, c, ho, wo)
            u = at // w - st * np.arange(ho)[:, None]
            v = at % w - st * np.arange(wo)[None, :]
            return (u * self.size + v).astype(np.uint8 if self.size**2 <= 255 else np.int32)
        if self._step != self.size:
            return self._switches
        if getattr(self, "_switches", None) is None:
            s, row = self.size, self._row_index
            col = np.zeros(row.shape, np.uint8)
            for u in range(s):  # the column index recorded in each window's winning row
                np.copyto(col, self._col_index[:, :, u::s], where=row == u)
            self._switches = row * np.uint8(s) + col
        return self._switches

    def _backward_separable(self, dy):
        s, (_, ho, wo) = self.size, self.output_shape
        dx = self._grad_buffer(self._x, dy.dtype)  # zeros where no window reaches
        inner = dx[:, :, : ho * s, : wo * s]
        dcols = np.empty_like(self._col_index, dtype=dy.dtype)  # same memory order as the input
        self._route(dy, self._row_index, [dcols[:, :, u::s] for u in range(s)])
        self._route(dcols, self._col_index, [inner[..., v::s] for v in range(s)])
        return dx


@LAYERS.register("avgpool", "avg_pool")
class AvgPool2D(_Pool2D):
    """Average pooling: y = mean of each window; each input gets dL/dy / size²."""

    def forward(self, x, training=False):
        self._kernel = None
        ops = self._kernel_ops(x)
        if ops is not None:
            xs, xsn, xsc, like = as_planes(x)
            n, c = x.shape[:2]
            _, ho, wo = self.output_shape
            y, ys, ysn, ysc = empty_planes((n, c, ho, wo), like, x.dtype)
            scale = x.dtype.type(1.0 / self.size**2)
            ops.pool.avg_forward(x.size + y.size, xs, xsn, xsc, ys, ysn, ysc, n, c, self.size, self._step, scale)
            self._x, self._kernel = x, (ops.pool, like)
            return y
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
        if self._kernel is not None:
            k, like = self._kernel
            x = self._x
            dys, dysn, dysc, _ = as_planes(dy.astype(x.dtype, copy=False))
            dx, dxs, dxsn, dxsc = empty_planes(x.shape, like, x.dtype)
            scale = x.dtype.type(1.0 / self.size**2)
            n, c = x.shape[:2]
            zero = x.dtype.type(0)
            k.avg_backward(
                dx.size + dy.size, dys, dysn, dysc, dxs, dxsn, dxsc, n, c, self.size, self._step, scale, zero
            )
            return dx
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
