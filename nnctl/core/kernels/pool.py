"""Max and average pooling, forward and backward, one image plane per work item.

Windows of ``size`` × ``size`` moved by ``stride``, Ho = ⌊(H − size)/stride⌋ + 1 (PyTorch's floor
mode). Planes are addressed as in images.py, so the input, output and gradients may each be
batch-major or channel-major.

Max pooling records, for each output, the offset h·W + w in its input plane of the window position
that won (the first in row-major order on ties, like the NumPy path's "switches"; the first NaN
wins, so NaN propagates as with ``np.maximum``). Backward writes each output gradient at that offset and
zero at the window's other positions; overlapping windows (stride < size) add instead. Average
pooling sums each window in row-major order and multiplies by 1/size², and backward gives
dL/dy/size² to every position of the window, both as the NumPy path does
(nnctl/core/layers/pooling.py). Pixels no window reaches (floor mode) get zero gradient.

The 2 × 2, stride-2 case, by far the most common, has its own loop: the four comparisons without
inner loops are about four times faster than the general loop.
"""

from __future__ import annotations

from numba import prange

from ._compile import helper, kernel


@helper
def _wins(val, best):
    """Whether ``val`` replaces the running maximum ``best``: strictly larger, or the first NaN."""
    return (val > best) | ((val != val) & (best == best))


@kernel
def max_forward(x, xsn, xsc, y, ysn, ysc, where, n, c, size, stride):
    """y[n, c, i, j] = max over the window, ``where`` its offset in the input plane.

    NumPy: ``y = max_(u, v) x[:, :, s·i + u, s·j + v]``, the first maximal (u, v) recorded.
    """
    ho, wo = y.shape[1], y.shape[2]
    w = x.shape[2]
    for item in prange(n * c):
        img, ch = item // c, item % c
        src = x[img * xsn + ch * xsc]
        dst = y[img * ysn + ch * ysc]
        idx = where[img * ysn + ch * ysc]
        if size == 2 and stride == 2:
            for i in range(ho):
                r0, r1, d, ix = src[2 * i], src[2 * i + 1], dst[i], idx[i]
                base = 2 * i * w
                for j in range(wo):
                    best, at = r0[2 * j], 0
                    val = r0[2 * j + 1]
                    t = _wins(val, best)
                    best, at = (val, 1) if t else (best, at)
                    val = r1[2 * j]
                    t = _wins(val, best)
                    best, at = (val, w) if t else (best, at)
                    val = r1[2 * j + 1]
                    t = _wins(val, best)
                    best, at = (val, w + 1) if t else (best, at)
                    d[j] = best
                    ix[j] = base + 2 * j + at
            continue
        flat = src.reshape(-1)
        for i in range(ho):
            for j in range(wo):
                at = stride * (i * w + j)
                best = flat[at]
                for u in range(size):
                    q0 = (stride * i + u) * w + stride * j
                    for v in range(size):
                        val = flat[q0 + v]
                        t = _wins(val, best)
                        best, at = (val, q0 + v) if t else (best, at)
                dst[i, j] = best
                idx[i, j] = at


@kernel
def max_backward(dy, dysn, dysc, where, wsn, wsc, dx, dxsn, dxsc, n, c, size, stride, zero):
    """dx[n, c].flat[where[n, c, i, j]] = dy[n, c, i, j], 0 elsewhere (windows that overlap or leave
    gaps, stride ≠ size: zeros, then += in (i, j) order)."""
    ho, wo = dy.shape[1], dy.shape[2]
    h, w = dx.shape[1], dx.shape[2]
    for item in prange(n * c):
        img, ch = item // c, item % c
        g = dy[img * dysn + ch * dysc]
        idx = where[img * wsn + ch * wsc]
        out = dx[img * dxsn + ch * dxsc]
        flat = out.reshape(-1)
        if stride != size:
            for q in range(h * w):
                flat[q] = zero
            for i in range(ho):
                for j in range(wo):
                    q = idx[i, j]
                    flat[q] = flat[q] + g[i, j]
            continue
        for r in range(size * ho, h):  # rows and columns no window reaches
            for q in range(w):
                out[r, q] = zero
        for r in range(size * ho):
            for q in range(size * wo, w):
                out[r, q] = zero
        if size == 2:
            for i in range(ho):
                gi, ix = g[i], idx[i]
                r0, r1 = out[2 * i], out[2 * i + 1]
                b0 = 2 * i * w
                b1 = b0 + w
                for j in range(wo):
                    gj, at, q = gi[j], ix[j], 2 * j
                    r0[q] = gj if at == b0 + q else zero
                    r0[q + 1] = gj if at == b0 + q + 1 else zero
                    r1[q] = gj if at == b1 + q else zero
                    r1[q + 1] = gj if at == b1 + q + 1 else zero
            continue
        for i in range(ho):
            gi, ix = g[i], idx[i]
            for u in range(size):
                row = out[stride * i + u]
                base = (stride * i + u) * w
                for j in range(wo):
                    for v in range(size):
                        q = stride * j + v
                        row[q] = gi[j] if ix[j] == base + q else zero


@kernel
def avg_forward(x, xsn, xsc, y, ysn, ysc, n, c, size, stride, scale):
    """y = (Σ_(u, v) x[:, :, s·i + u, s·j + v])·scale, the sum in row-major (u, v) order, scale = 1/size².

    NumPy: ``y = x[:, :, 0::s, 0::s].copy(); y += x[:, :, u::s, v::s] ...; y *= 1/size²``.
    """
    ho, wo = y.shape[1], y.shape[2]
    for item in prange(n * c):
        img, ch = item // c, item % c
        src = x[img * xsn + ch * xsc]
        dst = y[img * ysn + ch * ysc]
        for i in range(ho):
            d = dst[i]
            for j in range(wo):
                d[j] = src[stride * i, stride * j]
            for u in range(size):
                row = src[stride * i + u]
                for v in range(size):
                    if u == 0 and v == 0:
                        continue
                    rv = row[v:]
                    for j in range(wo):
                        d[j] = d[j] + rv[stride * j]
            for j in range(wo):
                d[j] = d[j] * scale


@kernel
def avg_backward(dy, dysn, dysc, dx, dxsn, dxsc, n, c, size, stride, scale, zero):
    """dx = 0, then dx[:, :, s·i + u, s·j + v] += dy·scale for every (u, v) in row-major order.

    NumPy: ``g = dy·(1/size²)``; ``dx[:, :, u::s, v::s] = g`` (``+=`` when windows overlap).
    """
    ho, wo = dy.shape[1], dy.shape[2]
    h, w = dx.shape[1], dx.shape[2]
    for item in prange(n * c):
        img, ch = item // c, item % c
        g = dy[img * dysn + ch * dysc]
        out = dx[img * dxsn + ch * dxsc]
        for r in range(h):
            for q in range(w):
                out[r, q] = zero
        for u in range(size):
            for v in range(size):
                for i in range(ho):
                    row, gi = out[stride * i + u, v:], g[i]
                    for j in range(wo):
                        q = stride * j
                        row[q] = row[q] + gi[j] * scale
