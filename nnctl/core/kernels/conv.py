"""im2col and col2im for a convolution's matrix products (the products stay in BLAS).

With columns ordered (n, i, j) over the N·Ho·Wo output pixels and rows (c, u, v) over the C·k·k
taps of a k × k kernel (the order of ``W.reshape(F, C·k·k)``, so the weights need no copy):

    cols[(c·k + u)·k + v, (n·Ho + i)·Wo + j] = x[n, c, s·i + u − top, s·j + v − left]   (0 outside)
    dx[n, c, h, w] = Σ_(u, v) dcols[(c·k + u)·k + v, (n·Ho + i)·Wo + j]  over h = s·i + u − top,
                                                                              w = s·j + v − left

NumPy (nnctl/core/layers/conv.py) builds the columns from strided window views, or for stride 1
from shifted rows of a padded copy of the input (which also computes the thrown-away positions
where a window runs off the image), and adds the column blocks back one kernel offset at a time.
Here one work item writes one row of the columns (one tap of one input channel, image after
image: im2col) or one image plane of the input gradient (col2im, adding the taps in (u, v) order
as NumPy does). Padding is never materialized.

Stride 1 with the output as large as the input (``padding="same"``), the usual case, is one flat
loop per block: tap (u, v) is the input plane shifted by (u − top)·W + (v − left) positions, with
the pixels whose shifted column falls off the image masked out. Images are small (28 × 28, 14 × 14),
so a loop per image row would be mostly loop overhead.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from ._compile import helper, kernel


@helper
def _flat_taps(k, top, left, h, w):
    """For a 'same' stride-1 convolution: each tap's (shift, qa, qb), output pixels q in [qa, qb) of
    a plane reading input position q + shift (all others read padding), and masks[v, q], whether
    output pixel q = i·W + j reads a column j + v − left inside the image."""
    taps = np.empty((k * k, 3), np.int64)
    for u in range(k):
        for v in range(k):
            du, dv = u - top, v - left
            shift = du * w + dv
            qa = max(max(0, -du) * w, -shift)  # the masked first pixel may point before the plane
            qb = min(min(h, h - du) * w, h * w - shift)  # and the masked last one past it
            taps[u * k + v, 0], taps[u * k + v, 1], taps[u * k + v, 2] = shift, qa, max(qa, qb)
    masks = np.empty((k, h * w), np.bool_)
    for v in range(k):
        for q in range(h * w):
            col = q % w + v - left
            masks[v, q] = 0 <= col < w
    return taps, masks


@helper
def _columns(s, v, left, w, wo):
    """The output columns [j0, j1) whose input column s·j + v − left lies inside the image."""
    j0 = max(0, (left - v + s - 1) // s)
    j1 = min(wo, (w - 1 + left - v) // s + 1) if w - 1 + left - v >= 0 else 0
    return j0, max(j0, j1)


@kernel
def im2col(x, sn, sc, img0, n, c, k, s, top, left, ho, wo, cols, zero, one):
    """Fill ``cols`` (C·k·k [+ 1], n·Ho·Wo) for the images img0 … img0 + n − 1 of the image planes
    ``x`` (N·C, H, W), plane n·sn + c·sc; a last row, when ``cols`` has one, is set to ones (it
    carries the bias through the product).

    One work item per row (c, u, v), looping over the images.
    """
    h, w = x.shape[1], x.shape[2]
    pix = ho * wo
    flat = s == 1 and ho == h and wo == w
    taps, masks = _flat_taps(k, top, left, h, w) if flat else _flat_taps(0, 0, 0, 0, 0)
    for row in prange(cols.shape[0]):
        if row == c * k * k:
            cols[row, :] = one
            continue
        ch, uv = row // (k * k), row % (k * k)
        u, v = uv // k, uv % k
        if flat:
            shift, qa, qb = taps[uv, 0], taps[uv, 1], taps[uv, 2]
            m = masks[v, qa:qb]
            for img in range(n):
                src = x[(img0 + img) * sn + ch * sc].reshape(-1)
                out = cols[row, img * pix : (img + 1) * pix]
                for q in range(qa):
                    out[q] = zero
                for q in range(qb, pix):
                    out[q] = zero
                o, sv = out[qa:qb], src[qa + shift : qb + shift]
                for q in range(o.size):
                    o[q] = sv[q] if m[q] else zero
            continue
        j0, j1 = _columns(s, v, left, w, wo)
        first = s * j0 + v - left
        for img in range(n):
            plane = x[(img0 + img) * sn + ch * sc]
            out = cols[row, img * pix : (img + 1) * pix]
            for i in range(ho):
                dst = out[i * wo : (i + 1) * wo]
                r = s * i + u - top
                if r < 0 or r >= h:
                    for j in range(wo):
                        dst[j] = zero
                    continue
                for j in range(j0):
                    dst[j] = zero
                for j in range(j1, wo):
                    dst[j] = zero
                mid, sv = dst[j0:j1], plane[r, first:]
                for j in range(mid.size):
                    mid[j] = sv[s * j]


@kernel
def col2im(dcols, sn, sc, img0, n, c, k, s, top, left, ho, wo, dx, zero):
    """Sum ``dcols`` (C·k·k, n·Ho·Wo) back into the planes of images img0 … img0 + n − 1 of ``dx``
    (N·C, H, W), one work item per plane."""
    h, w = dx.shape[1], dx.shape[2]
    pix = ho * wo
    flat = s == 1 and ho == h and wo == w
    taps, masks = _flat_taps(k, top, left, h, w) if flat else _flat_taps(0, 0, 0, 0, 0)
    for item in prange(n * c):
        img, ch = item // c, item % c
        plane = dx[(img0 + img) * sn + ch * sc]
        for r in range(h):
            for q in range(w):
                plane[r, q] = zero
        for u in range(k):
            for v in range(k):
                block = dcols[(ch * k + u) * k + v, img * pix : (img + 1) * pix]
                if flat:
                    shift, qa, qb = taps[u * k + v, 0], taps[u * k + v, 1], taps[u * k + v, 2]
                    o, b, m = plane.reshape(-1)[qa + shift : qb + shift], block[qa:qb], masks[v, qa:qb]
                    for q in range(o.size):
                        o[q] = o[q] + (b[q] if m[q] else zero)  # + 0 for a masked tap: no change
                    continue
                j0, j1 = _columns(s, v, left, w, wo)
                first = s * j0 + v - left
                for i in range(ho):
                    r = s * i + u - top
                    if r < 0 or r >= h:
                        continue
                    dst, src = plane[r, first:], block[i * wo + j0 : i * wo + j1]
                    for j in range(src.size):
                        dst[s * j] = dst[s * j] + src[j]
