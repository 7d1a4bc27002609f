"""Optimizer updates in one pass over the flat buffers.

The NumPy path (nnctl/core/optimizers) runs each update as a chain of whole-array passes, block by
block in cache: Adam reads and writes about twelve arrays per block. Each kernel here does the
same arithmetic for one element at a time, reading θ, g and the state once and writing them once.
The order of the operations per element is the NumPy path's, so the results are the same bits.

Conventions shared by every kernel:

* ``p``, ``g`` and the state are 1-D contiguous buffers of one dtype; ``g`` is never written.
* the first ``nd`` entries are weights: with ``decay`` true their gradient is ``g + λ·θ``
  (coupled weight decay, ``wd`` = λ), the others use ``g`` as it is.
* every scalar arrives in the buffers' dtype (float32 stays float32, as NumPy does with Python
  floats), precomputed as the NumPy path computes it (``1 − β`` in Python floats, then rounded).
* state that would become smaller than the smallest normal number (``tiny``) is set to zero. The
  fit loop sets the CPU's flush-to-zero mode for its own thread, but numba's worker threads have
  their own floating-point mode; flushing here keeps decaying state off the slow denormal path
  whichever thread runs the update.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._compile import chunk, helper, kernel, n_chunks


@helper
def _flush(x, tiny):
    """x, or 0 where |x| is below the smallest normal number (and not NaN)."""
    return x if not abs(x) < tiny else x - x


@helper
def _maximum(a, b):
    """np.maximum(a, b): the larger value, NaN if either is NaN."""
    if a != a:
        return a
    return a if a >= b else b


@helper
def _decay_end(lo, hi, nd):
    """The end of the decayed part [lo, mid) of span [lo, hi)."""
    return min(max(nd, lo), hi)


# --- gradient descent ---------------------------------------------------------------------------------


@helper
def _sgd_span(p, g, decay, wd, lr):
    for i in range(p.size):
        gi = p[i] * wd + g[i] if decay else g[i]
        p[i] = p[i] - gi * lr


@kernel
def sgd(p, g, nd, decay, wd, lr):
    """θ ← θ − lr·(g + λ·θ)   (NumPy: ``np.subtract(p, np.multiply(g_decayed, lr), out=p)``)."""
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        _sgd_span(p[lo:mid], g[lo:mid], decay, wd, lr)
        _sgd_span(p[mid:hi], g[mid:hi], False, wd, lr)


@helper
def _momentum_span(p, g, b, decay, wd, lr, mu, damp1, dampen, first, nesterov, tiny):
    for i in range(p.size):
        gi = p[i] * wd + g[i] if decay else g[i]
        if first:
            bi = gi
        elif dampen:
            bi = b[i] * mu + gi * damp1
        else:
            bi = b[i] * mu + gi
        bi = _flush(bi, tiny)
        b[i] = bi
        step = bi * mu + gi if nesterov else bi
        p[i] = p[i] - step * lr


@kernel
def momentum(p, g, b, nd, decay, wd, lr, mu, damp1, dampen, first, nesterov, tiny):
    """Heavy-ball or Nesterov momentum, PyTorch's form.

    NumPy: ``b = g`` on the first step, else ``b = b·μ + g·(1 − dampening)`` (``b·μ + g`` without
    dampening); then ``θ = θ − (b)·lr``, or ``θ = θ − (b·μ + g)·lr`` for Nesterov.
    """
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        _momentum_span(
            p[lo:mid], g[lo:mid], b[lo:mid], decay, wd, lr, mu, damp1, dampen, first, nesterov, tiny
        )  # fmt: skip
        _momentum_span(
            p[mid:hi], g[mid:hi], b[mid:hi], False, wd, lr, mu, damp1, dampen, first, nesterov, tiny
        )  # fmt: skip


# --- per-parameter rates from squared gradients ---------------------------------------------------------


@helper
def _adagrad_span(p, g, s, decay, wd, lr, eps):
    for i in range(p.size):
        gi = p[i] * wd + g[i] if decay else g[i]
        si = s[i] + gi * gi
        s[i] = si
        p[i] = p[i] - (gi / (np.sqrt(si) + eps)) * lr


@kernel
def adagrad(p, g, s, nd, decay, wd, lr, eps):
    """Adagrad. NumPy: ``s = s + g·g;  θ = θ − (g / (√s + ε))·lr``."""
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        _adagrad_span(p[lo:mid], g[lo:mid], s[lo:mid], decay, wd, lr, eps)
        _adagrad_span(p[mid:hi], g[mid:hi], s[mid:hi], False, wd, lr, eps)


@helper
def _rmsprop_span(p, g, v, gbar, b, decay, wd, lr, alpha, alpha1, eps, centered, mom, use_mom, tiny):
    for i in range(p.size):
        gi = p[i] * wd + g[i] if decay else g[i]
        vi = _flush(v[i] * alpha + (gi * gi) * alpha1, tiny)
        v[i] = vi
        if centered:
            ai = _flush(gbar[i] * alpha + gi * alpha1, tiny)
            gbar[i] = ai
            root = np.sqrt(vi - ai * ai)
        else:
            root = np.sqrt(vi)
        d = gi / (root + eps)
        if use_mom:
            bi = _flush(b[i] * mom + d, tiny)
            b[i] = bi
            d = bi
        p[i] = p[i] - d * lr


@kernel
def rmsprop(p, g, v, gbar, b, nd, decay, wd, lr, alpha, alpha1, eps, centered, mom, use_mom, tiny):
    """RMSprop, optionally centered and with momentum.

    NumPy: ``v = v·α + (g·g)·(1 − α)``; centered: ``ḡ = ḡ·α + g·(1 − α)``, ``r = √(v − ḡ·ḡ)``, else
    ``r = √v``; ``d = g / (r + ε)``; with momentum ``b = b·μ + d`` and ``θ = θ − b·lr``, else
    ``θ = θ − d·lr``. ``gbar`` and ``b`` are ignored (any buffer) when unused.
    """
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        gb_lo, gb_mid, gb_hi = (lo, mid, hi) if centered else (0, 0, 0)
        b_lo, b_mid, b_hi = (lo, mid, hi) if use_mom else (0, 0, 0)
        _rmsprop_span(
            p[lo:mid], g[lo:mid], v[lo:mid], gbar[gb_lo:gb_mid], b[b_lo:b_mid], decay, wd, lr, alpha, alpha1,
            eps, centered, mom, use_mom, tiny,
        )  # fmt: skip
        _rmsprop_span(
            p[mid:hi], g[mid:hi], v[mid:hi], gbar[gb_mid:gb_hi], b[b_mid:b_hi], False, wd, lr, alpha, alpha1,
            eps, centered, mom, use_mom, tiny,
        )  # fmt: skip


@helper
def _adadelta_span(p, g, v, u, decay, wd, lr, rho, rho1, eps, tiny):
    for i in range(p.size):
        gi = p[i] * wd + g[i] if decay else g[i]
        vi = _flush(v[i] * rho + (gi * gi) * rho1, tiny)
        v[i] = vi
        delta = (np.sqrt(u[i] + eps) / np.sqrt(vi + eps)) * gi
        u[i] = _flush(u[i] * rho + (delta * delta) * rho1, tiny)
        p[i] = p[i] - delta * lr


@kernel
def adadelta(p, g, v, u, nd, decay, wd, lr, rho, rho1, eps, tiny):
    """Adadelta. NumPy: ``v = v·ρ + (g·g)·(1 − ρ);  Δ = (√(u + ε) / √(v + ε))·g;
    u = u·ρ + (Δ·Δ)·(1 − ρ);  θ = θ − Δ·lr``."""
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        _adadelta_span(p[lo:mid], g[lo:mid], v[lo:mid], u[lo:mid], decay, wd, lr, rho, rho1, eps, tiny)
        _adadelta_span(p[mid:hi], g[mid:hi], v[mid:hi], u[mid:hi], False, wd, lr, rho, rho1, eps, tiny)


# --- Adam and its variants ---------------------------------------------------------------------------


@helper
def _adam_span(p, g, m, v, vmax, decay, wd, shrinking, shrink, b1, b1c, b2, b2c, step, eps_c, amsgrad, tiny):
    for i in range(p.size):
        pi = p[i] * shrink if shrinking else p[i]  # AdamW: θ·(1 − lr·λ) first
        gi = pi * wd + g[i] if decay else g[i]
        mi = _flush(m[i] * b1 + gi * b1c, tiny)
        vi = _flush(v[i] * b2 + (gi * gi) * b2c, tiny)
        m[i] = mi
        v[i] = vi
        if amsgrad:
            vi = _maximum(vmax[i], vi)
            vmax[i] = vi
        p[i] = pi - (mi / (np.sqrt(vi) + eps_c)) * step


@kernel
def adam(p, g, m, v, vmax, nd, decay, wd, shrinking, shrink, b1, b1c, b2, b2c, step, eps_c, amsgrad, tiny):
    """Adam with its bias corrections folded into scalars (see nnctl/core/optimizers/adam.py).

    NumPy: ``m = m·β1 + g·(1 − β1);  v = v·β2 + (g·g)·(1 − β2)`` (amsgrad: ``v̂ = max(v̂, v)``, used
    instead of v); ``θ = θ − (m / (√v + ε·c2))·step`` with ``c2 = √(1 − β2^t)`` and
    ``step = lr·c2/(1 − β1^t)``. AdamW (``shrinking``) first multiplies the weights by ``shrink``
    = 1 − lr·λ (``decay`` is then false). ``vmax`` is ignored (any buffer) without amsgrad.
    """
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        x_lo, x_mid, x_hi = (lo, mid, hi) if amsgrad else (0, 0, 0)
        _adam_span(
            p[lo:mid], g[lo:mid], m[lo:mid], v[lo:mid], vmax[x_lo:x_mid], decay, wd, shrinking, shrink,
            b1, b1c, b2, b2c, step, eps_c, amsgrad, tiny,
        )  # fmt: skip
        _adam_span(
            p[mid:hi], g[mid:hi], m[mid:hi], v[mid:hi], vmax[x_mid:x_hi], False, wd, False, shrink,
            b1, b1c, b2, b2c, step, eps_c, amsgrad, tiny,
        )  # fmt: skip


@helper
def _nadam_span(p, g, m, v, decay, wd, b1, b1c, b2, b2c, c_grad, c_mom, eps_c, tiny):
    for i in range(p.size):
        gi = p[i] * wd + g[i] if decay else g[i]
        mi = _flush(m[i] * b1 + gi * b1c, tiny)
        vi = _flush(v[i] * b2 + (gi * gi) * b2c, tiny)
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - (gi * c_grad + mi * c_mom) / (np.sqrt(vi) + eps_c)


@kernel
def nadam(p, g, m, v, nd, decay, wd, b1, b1c, b2, b2c, c_grad, c_mom, eps_c, tiny):
    """NAdam with the step sizes folded into scalars (see nnctl/core/optimizers/adam.py).

    NumPy: m and v as in Adam; ``θ = θ − (g·c_grad + m·c_mom) / (√v + ε·c2)``.
    """
    n = p.size
    for c in prange(n_chunks(n)):
        lo, hi = chunk(c, n)
        mid = _decay_end(lo, hi, nd)
        _nadam_span(
            p[lo:mid], g[lo:mid], m[lo:mid], v[lo:mid], decay, wd, b1, b1c, b2, b2c, c_grad, c_mom, eps_c, tiny
        )  # fmt: skip
        _nadam_span(
            p[mid:hi], g[mid:hi], m[mid:hi], v[mid:hi], False, wd, b1, b1c, b2, b2c, c_grad, c_mom, eps_c, tiny
        )  # fmt: skip
