"""Softmax cross-entropy from logits and class indices: per-sample loss and gradient in one pass.

The NumPy path (nnctl/core/losses.py, ``CrossEntropy``) makes about a dozen passes and temporaries
over the (N, C) logits; for the small C of a classifier that is mostly per-call overhead. Here
each row is read once and its gradient row written once.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._compile import kernel


@kernel
def cross_entropy(z, y, eps, keep, smooth, inv_c, inv_n, need_grad, per, grad):
    """Per row n, with s = z − max z and lse = log Σ_k exp(s_k):

        per[n] = lse − s[y_n]                                    (ε = 0)
        per[n] = (1 − ε)·(lse − s[y_n]) + ε·(lse − mean_k s_k)   (label smoothing ε)
        grad[n] = (exp(s)/Σ exp(s) − (1 − ε)·onehot(y_n) − ε/C)/N   (when ``need_grad``)

    ``keep`` = 1 − ε, ``smooth`` = ε/C, ``inv_c`` = 1/C, ``inv_n`` = 1/N, in the logits' dtype.
    NumPy: ``s = z − z.max(1, keepdims=True); e = np.exp(s); total = e.sum(1, keepdims=True);
    lse = np.log(total); per = lse[:, 0] − s[rows, y]``; ``e /= total; e[rows, y] −= 1 − ε;
    e −= ε/C; e *= 1/N``. The sums run in order along the row (NumPy adds in pairs), so the two
    agree to rounding; NaN or ±inf in a row make its loss NaN or inf, as in NumPy.
    """
    n, c = z.shape
    for r in prange(n):
        row = z[r]
        m = row[0]
        for j in range(1, c):
            if row[j] > m or row[j] != row[j]:
                m = row[j]
        out = grad[r] if need_grad else grad[0]  # written only when need_grad
        total = np.exp(row[0] - m)
        if need_grad:
            out[0] = total
        for j in range(1, c):
            e = np.exp(row[j] - m)
            total += e
            if need_grad:
                out[j] = e
        lse = np.log(total)
        t = y[r]
        loss = lse - (row[t] - m)
        if eps != 0:
            mean = row[0] - m
            for j in range(1, c):
                mean += row[j] - m
            loss = keep * loss + eps * (lse - mean * inv_c)
        per[r] = loss
        if need_grad:
            for j in range(c):
                out[j] = out[j] / total
            out[t] = out[t] - keep
            for j in range(c):
                if eps != 0:
                    out[j] = out[j] - smooth
                out[j] = out[j] * inv_n
