"""Activation passes, each one loop over the data.

An elementwise activation's NumPy forward or backward is a short chain of ufunc calls with
temporaries (ReLU backward: a comparison into a fresh array, then a product); here each is one
pass. The kernels work on flat views: :func:`apply` takes the arrays in the axis order in which
the first is stored contiguously (the channel-major images of a convolution included), and an
output made with ``np.empty_like`` has that order too, so element ``i`` of every flat view is the
same element. Arrays that are not contiguous (and gradients stored in another order than the
values) take the NumPy path.

Only activations whose formula is plain arithmetic are compiled: ReLU and leaky ReLU both ways,
and the backward passes of sigmoid, tanh, ELU/SELU and swish/SiLU, which reuse what the forward
pass cached. Forward passes that need exp or tanh stay with NumPy, whose vectorized exp and tanh are
faster than the scalar ones a kernel would call.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._compile import chunk, kernel, n_chunks


def flat(a: np.ndarray) -> np.ndarray | None:
    """The 1-D view of ``a`` in memory order, or None when ``a`` is not contiguous in any order."""
    if a.flags.c_contiguous:
        return a.reshape(-1)
    perm = _memory_order(a)
    return None if perm is None else a.transpose(perm).reshape(-1)


def _memory_order(a: np.ndarray) -> tuple[int, ...] | None:
    """The axis order in which ``a`` is C-contiguous, or None."""
    perm = tuple(int(i) for i in np.argsort([-abs(s) for s in a.strides], kind="stable"))
    return perm if a.transpose(perm).flags.c_contiguous else None


def apply(k, arrays: tuple[np.ndarray, ...], *scalars) -> np.ndarray | None:
    """Run elementwise kernel ``k`` on ``arrays`` (then a fresh output like ``arrays[0]``, then the
    scalars, converted to its dtype); None, having done nothing, when the arrays are not float32 or
    float64 of one dtype and one shape, stored contiguously in one order."""
    first = arrays[0]
    dtype = first.dtype
    if dtype.char not in "fd" or any(a.dtype != dtype or a.shape != first.shape for a in arrays):
        return None
    out = np.empty_like(first)
    if all(a.flags.c_contiguous for a in arrays) and out.flags.c_contiguous:
        views = [a.reshape(-1) for a in (*arrays, out)]
    else:
        perm = _memory_order(first)
        if perm is None:
            return None
        views = [a.transpose(perm) for a in (*arrays, out)]
        if not all(v.flags.c_contiguous for v in views):
            return None
        views = [v.reshape(-1) for v in views]
    f = dtype.type
    k(first.size * len(views), *views, *(f(s) if isinstance(s, float) else s for s in scalars))
    return out


# --- ReLU and leaky ReLU ----------------------------------------------------------------------------------


@kernel
def relu(x, y, zero):
    """y = max(x, 0)   (NumPy: ``np.maximum(x, 0)``; NaN stays NaN)."""
    n = x.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        xs, ys = x[lo:hi], y[lo:hi]
        for i in range(xs.size):
            v = xs[i]
            ys[i] = zero if v < zero else v


@kernel
def relu_backward(y, dy, dx, zero, one):
    """dL/dx = [y > 0]·dL/dy   (NumPy: ``np.greater(y, 0, out=d); d *= dy``)."""
    n = y.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        ys, ds, out = y[lo:hi], dy[lo:hi], dx[lo:hi]
        for i in range(ys.size):
            out[i] = (one if ys[i] > zero else zero) * ds[i]


@kernel
def leaky_relu(x, y, alpha):
    """y = max(x, α·x)   (NumPy: ``y = x·α; np.maximum(x, y, out=y)``)."""
    n = x.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        xs, ys = x[lo:hi], y[lo:hi]
        for i in range(xs.size):
            v = xs[i]
            s = v * alpha
            ys[i] = v if (v >= s or v != v) else s


@kernel
def slope_backward(x, dy, dx, am1, zero, one):
    """dL/dx = (1 + (α − 1)·[x ≤ 0])·dL/dy, the backward pass of leaky ReLU (``am1`` = α − 1).

    NumPy: ``d = np.less_equal(x, 0); d *= α − 1; d += 1; d *= dy``.
    """
    n = x.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        xs, ds, out = x[lo:hi], dy[lo:hi], dx[lo:hi]
        for i in range(xs.size):
            out[i] = ((am1 if xs[i] <= zero else zero) + one) * ds[i]


# --- backward passes from what the forward pass cached ------------------------------------------------------


@kernel
def sigmoid_backward(y, dy, dx, one):
    """dL/dx = (1 − y)·y·dL/dy with y = σ(x)   (NumPy: ``d = 1 − y; d *= y; d *= dy``)."""
    n = y.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        ys, ds, out = y[lo:hi], dy[lo:hi], dx[lo:hi]
        for i in range(ys.size):
            out[i] = ((one - ys[i]) * ys[i]) * ds[i]


@kernel
def tanh_backward(y, dy, dx, one):
    """dL/dx = (1 − y²)·dL/dy with y = tanh(x)   (NumPy: ``d = 1 − np.square(y); d *= dy``)."""
    n = y.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        ys, ds, out = y[lo:hi], dy[lo:hi], dx[lo:hi]
        for i in range(ys.size):
            out[i] = (one - ys[i] * ys[i]) * ds[i]


@kernel
def elu_backward(x, neg, dy, dx, above, below, zero):
    """ELU/SELU: dL/dx = (scale·(1 − α)·[x > 0] + neg + scale·α)·dL/dy, ``neg`` the forward pass's
    scale·α·(e^min(x, 0) − 1); ``above`` = scale·(1 − α), ``below`` = scale·α.

    NumPy: ``d = np.greater(x, 0); d *= above; d += neg; d += below; d *= dy``.
    """
    n = x.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        xs, ns, ds, out = x[lo:hi], neg[lo:hi], dy[lo:hi], dx[lo:hi]
        for i in range(xs.size):
            out[i] = (((above if xs[i] > zero else zero) + ns[i]) + below) * ds[i]


@kernel
def swish_backward(s, y, dy, dx, beta, scaled, one):
    """Swish: dL/dx = (s + β·y·(1 − s))·dL/dy with s = σ(βx), y = x·s.

    NumPy: ``d = 1 − s; d *= y; d *= β`` (only when β ≠ 1, ``scaled``) ``; d += s; d *= dy``.
    """
    n = s.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        ss, ys, ds, out = s[lo:hi], y[lo:hi], dy[lo:hi], dx[lo:hi]
        for i in range(ss.size):
            d = (one - ss[i]) * ys[i]
            if scaled:
                d = d * beta
            out[i] = (d + ss[i]) * ds[i]
