"""2-D convolution by im2col: one matrix product forward, one each for dW and dX backward.

A convolution layer with F filters W ∈ R^(F × C × k × k) (PyTorch's layout) maps an image batch
x ∈ R^(N × C × H × W) to

    y[n, f, i, j] = b[f] + Σ_{c, u, v} W[f, c, u, v] · x_pad[n, c, s·i + u, s·j + v]

(cross-correlation, as every framework computes it). Unrolling every k × k patch of every input
channel into one column ("im2col") turns this into a single matrix product

    cols ∈ R^(C·k·k × N·Ho·Wo),   Y = W₂ · cols,   W₂ = W.reshape(F, C·k·k),

and the backward pass into two more:

    dL/dW₂ = dY · colsᵀ        dL/db = Σ_columns dY        dL/dcols = W₂ᵀ · dY,

after which ``col2im`` adds every column entry back to the pixel it was copied from (a loop over
the k·k kernel offsets, each a whole-batch strided add).

Memory layout. The layer boundary is NCHW, but the product Y = W₂·cols naturally
comes out *channel-major*, (F, N, Ho, Wo). The output is returned as the transposed view
(N, F, Ho, Wo) of that buffer, so no transpose copy is made at the boundary: element-wise layers
keep the layout, pooling works on strided views of it, and the next convolution's im2col copy
(needed anyway) gathers from it.

Stride 1: shifted rows instead of windows. Store the zero-padded input channel-major and flatten
each channel, P[c] = x_pad[c, n, i, j] at position q = (n·Hp + i)·Wp + j. The input pixel under
kernel offset (u, v) of output position q is then simply P[c, q + u·Wp + v]: every row of cols is
one *contiguous slice* of P, so im2col is k·k long memory copies instead of a gather of short
windows, and col2im adds each kernel offset's block of dcols = W₂ᵀ·dY back to the padded input
gradient, again one slice per offset. Positions q whose window runs off the right or bottom edge of
an image compute values that are thrown away (Hp·Wp instead of Ho·Wo outputs, ~15-30% more
arithmetic on small images); the output is the strided view of the valid ones, and their output
gradient is kept zero, so backward needs no special case. Rows of cols are ordered (u, v, c), so
W₂ is W transposed to (F, k, k, C) (a copy of the small weight tensor per step). The output stays
channel-major as above. Scratch buffers (the padded input, cols, the padded output gradient) are
reused from training step to training step; outputs and input gradients are fresh arrays.

Compiled kernels. Where they are active (nnctl/core/kernels), im2col and col2im are kernels
instead (kernels/conv.py), for every stride: columns only for the valid output positions (no
padded copy of the input, no thrown-away positions), rows ordered (c, u, v) so that W₂ is the
view ``W.reshape(F, C·k·k)``, and col2im summing each input plane in one pass. The batch is
processed in blocks of images whose columns fit in a core's L2 cache (``block_bytes``): im2col
writes a block and its product reads it back from the cache instead of main memory, and backward
builds each block's columns again rather than keeping them all (a convolution's columns are k²
times its input). The bias rides along in the products, as one more column of W₂ against a row of
ones in the columns, so that y = [W₂ | b]·[cols; 1] and [dW₂ | db] = dY·[cols; 1]ᵀ, accumulated
block by block. The products stay in BLAS. The input gradient keeps the memory layout of the
input. The NumPy code here is the reference the kernels are tested against.

Padding: ``"valid"`` (none), an integer p (p zeros on every side) or ``"same"``, which follows
TensorFlow (and PyTorch for stride 1): the output has ⌈H/s⌉ × ⌈W/s⌉ pixels and the needed total
padding is split with the extra pixel at the bottom/right, so even kernels are allowed.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from .. import kernels
from ..errors import ConfigError, ShapeError
from ..kernels.images import as_planes, empty_planes
from ..registry import check_range, format_value
from .base import LAYERS, BuildContext, Layer
from .dense import _initializer


def int_param(layer: str, key: str, value, low: int = 1) -> int:
    """An integer hyperparameter ≥ ``low`` (integral floats accepted), else ConfigError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer()
    if not ok:
        raise ConfigError(f"{layer}: {key}={format_value(value)} is not allowed; expected an integer >= {low}")
    check_range(layer, key, int(value), low)
    return int(value)


def image_shape(layer: str, input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """Check that a per-sample shape is an image (C, H, W) and return it."""
    if len(input_shape) == 1:
        raise ShapeError(
            f"{layer} expects images (C, H, W); got input shape {tuple(input_shape)} — "
            "use dense layers for tabular data"
        )
    if len(input_shape) != 3:
        raise ShapeError(f"{layer} expects images (C, H, W); got input shape {tuple(input_shape)}")
    c, h, w = (int(d) for d in input_shape)
    return c, h, w


def _parse_padding(padding) -> str | int:
    """'same' | 'valid' | int ≥ 0 (a digit string from a spec counts as an int)."""
    if isinstance(padding, str):
        text = padding.strip().lower()
        if text in ("same", "valid"):
            return text
        if text.isdigit():
            return int(text)
    elif isinstance(padding, (int, float)) and not isinstance(padding, bool):
        if float(padding).is_integer() and padding >= 0:
            return int(padding)
    raise ConfigError(f"conv2d: padding={format_value(padding)} is not allowed; valid: same, valid, or an integer >= 0")


def _pads(size: int, k: int, stride: int, padding: str | int) -> tuple[int, int, int]:
    """(pad before, pad after, output size) along one spatial axis."""
    if padding == "same":
        out = math.ceil(size / stride)
        total = max((out - 1) * stride + k - size, 0)
        return total // 2, total - total // 2, out
    p = 0 if padding == "valid" else int(padding)
    return p, p, (size + 2 * p - k) // stride + 1


@LAYERS.register("conv2d", "conv")
class Conv2D(Layer):
    """2-D convolution, weights (F, C, k, k), via im2col and one BLAS product (see module docstring)."""

    def __init__(
        self,
        filters: int = 16,
        kernel: int = 3,
        stride: int = 1,
        padding: str = "same",
        init: str = "he_normal",
        bias_init: str = "zeros",
        use_bias: bool = True,
    ):
        super().__init__()
        self.filters = int_param("conv2d", "filters", filters)
        self.kernel = int_param("conv2d", "kernel", kernel)
        self.stride = int_param("conv2d", "stride", stride)
        self.padding = _parse_padding(padding)
        self.init = init
        self.bias_init = bias_init
        self.use_bias = bool(use_bias)
        self._init = _initializer(init)
        self._bias_init = _initializer(bias_init)

    def compute_output_shape(self, input_shape):
        c, h, w = image_shape("conv2d", input_shape)
        k, s = self.kernel, self.stride
        if self.padding == "same" and (k > h or k > w):
            raise ShapeError(
                f"conv2d: kernel {k}x{k} is larger than the input image {h}x{w}; with padding=same "
                f"it would see mostly padding; use a kernel of at most {min(h, w)}"
            )
        if isinstance(self.padding, int) and self.padding > max(h, w):
            raise ConfigError(
                f"conv2d: padding={self.padding} is not allowed for a {h}x{w} input image: it would "
                f"mostly convolve zeros; use padding <= {max(h, w)}, same or valid"
            )
        (top, bottom, ho), (left, right, wo) = (_pads(h, k, s, self.padding), _pads(w, k, s, self.padding))
        if h + top + bottom < k or w + left + right < k:
            raise ShapeError(
                f"conv2d: kernel {k}x{k} does not fit input shape {(c, h, w)} with padding "
                f"{format_value(self.padding)} (padded image {h + top + bottom}x{w + left + right})"
            )
        self._pad = (top, bottom, left, right)
        return (self.filters, ho, wo)

    def build(self, input_shape, ctx: BuildContext):
        out = super().build(input_shape, ctx)
        c, k, f = self.input_shape[0], self.kernel, self.filters
        fan_in, fan_out = c * k * k, f * k * k
        self.add_param("W", (f, c, k, k), self._init, fan_in=fan_in, fan_out=fan_out, regularize=True)
        if self.use_bias:
            self.add_param("b", (f,), self._bias_init, fan_in=fan_in, fan_out=fan_out)
        return out

    def _padded(self, x: np.ndarray) -> np.ndarray:
        """The zero-padded batch as a logical (N, C, Hp, Wp) view of channel-major memory."""
        top, bottom, left, right = self._pad
        if not (top or bottom or left or right) and x.dtype == self.dtype:
            return x
        n, (c, h, w) = x.shape[0], self.input_shape
        xp = np.zeros((c, n, h + top + bottom, w + left + right), self.dtype).transpose(1, 0, 2, 3)
        xp[:, :, top : top + h, left : left + w] = x
        return xp

    def forward(self, x, training=False):
        self._kernel = None
        ops = kernels.active()
        if ops is not None and self.dtype.char in "fd":
            return self._forward_kernel(ops.conv, x.astype(self.dtype, copy=False), training)
        if self.stride == 1:
            return self._forward_shifted(x, training)
        return self._forward_windows(x)

    def backward(self, dy):
        if self._kernel is not None:
            return self._backward_kernel(dy)
        if self.stride == 1:
            return self._backward_shifted(dy)
        return self._backward_windows(dy)

    # --- compiled im2col/col2im (module docstring) -------------------------------------------------
    #: bytes of columns per block of images: one block's columns stay in a core's L2 cache between
    #: im2col and its product (docs/performance.md has the measurements)
    block_bytes: int = 1 << 19

    def _blocks(self, n: int) -> list[tuple[int, int]]:
        """(first image, number of images) of each block of the batch."""
        c, k = self.input_shape[0], self.kernel
        _, ho, wo = self.output_shape
        per_image = (c * k * k + 1) * ho * wo * self.dtype.itemsize
        nb = max(1, min(n, self.block_bytes // per_image))
        return [(lo, min(nb, n - lo)) for lo in range(0, n, nb)]

    def _block_buffer(self, name: str, rows: int, nb: int) -> np.ndarray:
        """A contiguous (rows, nb·Ho·Wo) scratch array, its memory reused across blocks and steps."""
        _, ho, wo = self.output_shape
        size = rows * nb * ho * wo
        cache = self.__dict__.setdefault("_kernel_buffers", {})
        buf = cache.get(name)
        if buf is None or buf.size < size or buf.dtype != self.dtype:
            buf = cache[name] = np.empty(size, self.dtype)
        return buf[:size].reshape(rows, nb * ho * wo)

    def _forward_kernel(self, k, x, training):
        """y = W₂·cols block by block of images, the bias as one more column of W₂ and a row of ones."""
        n = x.shape[0]
        c = self.input_shape[0]
        f, ho, wo = self.output_shape
        ks, top, left, zero, one = self.kernel, self._pad[0], self._pad[2], self.dtype.type(0), self.dtype.type(1)
        xs, sn, sc, like = as_planes(x)
        w2 = self.params["W"].reshape(f, -1)
        if self.use_bias:
            w2 = np.concatenate([w2, self.params["b"][:, None]], axis=1)
        rows, pix = w2.shape[1], ho * wo
        y = np.empty((f, n * pix), self.dtype)  # channel-major: (F, N·Ho·Wo)
        for lo, nb in self._blocks(n):
            cols = self._block_buffer("cols", rows, nb)
            k.im2col(2 * cols.size, xs, sn, sc, lo, nb, c, ks, self.stride, top, left, ho, wo, cols, zero, one)
            np.matmul(w2, cols, out=y[:, lo * pix : (lo + nb) * pix])
        if not training:
            self.__dict__.pop("_kernel_buffers", None)  # evaluation batches may be large: keep nothing
        self._kernel = (k, xs, sn, sc, like, w2)
        return y.reshape(f, n, ho, wo).transpose(1, 0, 2, 3)

    def _backward_kernel(self, dy):
        """Per block of images: the columns again, dW₂ += cols·dYᵀ, dcols = W₂ᵀ·dY and col2im."""
        k, xs, sn, sc, like, w2 = self._kernel
        n = dy.shape[0]
        c, h, w = self.input_shape
        f, ho, wo = self.output_shape
        ks, top, left, zero, one = self.kernel, self._pad[0], self._pad[2], self.dtype.type(0), self.dtype.type(1)
        rows, taps, pix = w2.shape[1], c * ks * ks, ho * wo
        t = dy.astype(self.dtype, copy=False).transpose(1, 0, 2, 3)
        dY = (t if t.flags.c_contiguous else np.ascontiguousarray(t)).reshape(f, n * pix)
        acc = np.zeros((rows, f), self.dtype)  # [dW₂ | db]ᵀ
        part = np.empty_like(acc)
        if self.need_input_grad:
            dx, dxs, dxsn, dxsc = empty_planes((n, c, h, w), like, self.dtype)
            w2t = w2[:, :taps].T
        for lo, nb in self._blocks(n):
            cols = self._block_buffer("cols", rows, nb)
            k.im2col(2 * cols.size, xs, sn, sc, lo, nb, c, ks, self.stride, top, left, ho, wo, cols, zero, one)
            dYb = dY[:, lo * pix : (lo + nb) * pix]
            np.matmul(cols, dYb.T, out=part)
            acc += part
            if self.need_input_grad:
                dcols = self._block_buffer("dcols", taps, nb)
                np.matmul(w2t, dYb, out=dcols)
                k.col2im(2 * dcols.size, dcols, dxsn, dxsc, lo, nb, c, ks, self.stride, top, left, ho, wo, dxs, zero)
        self.grads["W"].reshape(f, -1)[...] = acc[:taps].T
        if self.use_bias:
            self.grads["b"][...] = acc[taps]
        return dx if self.need_input_grad else None

    # --- stride 1: shifted rows of the flattened padded input (module docstring) -----------------
    def _scratch(self, n: int, keep: bool = True) -> dict:
        """Buffers for batch size ``n``; kept between training steps (the padding of ``P`` stays
        zero), made afresh for evaluation, whose large batches would otherwise stay in memory."""
        cache = getattr(self, "_buffers", None)
        if cache is None or cache["n"] != n or cache["dtype"] != self.dtype or not keep:
            c, h, w = self.input_shape
            k = self.kernel
            top, bottom, left, right = self._pad
            hp, wp = h + top + bottom, w + left + right
            span = n * hp * wp  # positions q, one per padded pixel
            tail = (k - 1) * wp + (k - 1)  # the largest shift, so every row slice stays in bounds
            cache = {
                "n": n, "dtype": self.dtype, "hp": hp, "wp": wp, "span": span,
                "P": np.zeros((c, span + tail), self.dtype),
                "cols": np.empty((k * k * c, span), self.dtype),
            }  # fmt: skip
            self._buffers = cache if keep else None
        return cache

    def _forward_shifted(self, x, training):
        n = x.shape[0]
        c, h, w = self.input_shape
        k, f = self.kernel, self.filters
        _, ho, wo = self.output_shape
        top, _, left, _ = self._pad
        buf = self._scratch(n, keep=training)
        self._last = buf
        hp, wp, span, P, cols = buf["hp"], buf["wp"], buf["span"], buf["P"], buf["cols"]
        P[:, :span].reshape(c, n, hp, wp)[:, :, top : top + h, left : left + w] = x.transpose(1, 0, 2, 3)
        item = P.itemsize
        # cols[(u, v, c), q] = P[c, q + u·Wp + v]: a strided view whose rows are slices of P
        shifted = as_strided(P, (k, k, c, span), (wp * item, item, P.strides[0], item), writeable=False)
        np.copyto(cols.reshape(k, k, c, span), shifted)
        self._w2 = self.params["W"].transpose(0, 2, 3, 1).reshape(f, k * k * c)  # (F, (u, v, c)), a copy
        y = np.matmul(self._w2, cols)  # (F, positions): channel-major, one sgemm
        if self.use_bias:
            y += self.params["b"][:, None]
        return y.reshape(f, n, hp, wp)[:, :, :ho, :wo].transpose(1, 0, 2, 3)  # the valid positions

    def _backward_shifted(self, dy):
        n = dy.shape[0]
        c, h, w = self.input_shape
        k, f = self.kernel, self.filters
        _, ho, wo = self.output_shape
        top, _, left, _ = self._pad
        buf = self._last  # the buffers of the forward pass being differentiated
        hp, wp, span, cols = buf["hp"], buf["wp"], buf["span"], buf["cols"]
        if "dY" not in buf:
            buf["dY"] = np.zeros((f, span), self.dtype)
        dY = buf["dY"]
        # dY at the valid positions; the thrown-away positions keep their zeros
        dY.reshape(f, n, hp, wp)[:, :, :ho, :wo] = dy.transpose(1, 0, 2, 3)
        dw2 = np.matmul(cols, dY.T)  # ((u, v, c), F)
        self.grads["W"][...] = dw2.reshape(k, k, c, f).transpose(3, 2, 0, 1)
        if self.use_bias:
            if "ones" not in buf:
                buf["ones"] = np.ones(span, self.dtype)
            np.matmul(dY, buf["ones"], out=self.grads["b"])  # Σ over positions, as one product
        if not self.need_input_grad:
            return None
        dcols = np.matmul(self._w2.T, dY).reshape(k * k, c, span)  # ((u, v), c, positions)
        tail = (k - 1) * wp + (k - 1)
        dP = np.zeros((c, span + tail), dY.dtype)  # channel-major padded input gradient
        for u in range(k):  # col2im: each kernel offset's block goes back to its shifted pixels
            for v in range(k):
                shift = u * wp + v
                dP[:, shift : shift + span] += dcols[u * k + v]
        dx = dP[:, :span].reshape(c, n, hp, wp)[:, :, top : top + h, left : left + w]
        return dx.transpose(1, 0, 2, 3)

    # --- stride ≥ 2: windows gathered by im2col (module docstring) -------------------------------
    def _forward_windows(self, x):
        n = x.shape[0]
        c, k, s = self.input_shape[0], self.kernel, self.stride
        f, ho, wo = self.output_shape
        xp = self._padded(x)
        # (N, C, H', W', k, k) windows → every s-th one → columns ordered (C, kh, kw) × (N, Ho, Wo)
        win = sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s][:, :, :ho, :wo]
        self._cols = win.transpose(1, 4, 5, 0, 2, 3).reshape(c * k * k, n * ho * wo)  # the one copy
        y = self.params["W"].reshape(f, -1) @ self._cols  # (F, N·Ho·Wo), one sgemm
        if self.use_bias:
            y += self.params["b"][:, None]
        return y.reshape(f, n, ho, wo).transpose(1, 0, 2, 3)  # NCHW view of channel-major memory

    def _backward_windows(self, dy):
        c, h, w = self.input_shape
        k, s = self.kernel, self.stride
        f, ho, wo = self.output_shape
        n = dy.shape[0]
        dy2 = dy.transpose(1, 0, 2, 3).reshape(f, -1)  # free when dy is channel-major, as ours are
        np.matmul(dy2, self._cols.T, out=self.grads["W"].reshape(f, -1))
        if self.use_bias:
            np.sum(dy2, axis=1, out=self.grads["b"])
        if not self.need_input_grad:
            return None
        dcols = (self.params["W"].reshape(f, -1).T @ dy2).reshape(c, k, k, n, ho, wo)
        top, bottom, left, right = self._pad
        dxp = np.zeros((c, n, h + top + bottom, w + left + right), dy2.dtype)
        for u in range(k):  # col2im: send each kernel offset's column block back to its pixels
            for v in range(k):
                dxp[:, :, u : u + s * (ho - 1) + 1 : s, v : v + s * (wo - 1) + 1 : s] += dcols[:, u, v]
        return dxp[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3)

    def label(self):
        return f"conv2d({self.filters}, {self.kernel}x{self.kernel}, stride={self.stride}, padding={self.padding})"
