"""Moving pixels, vectorized over a batch of (C, H, W) images: integer shifts, and resampling at
arbitrary (row, col) positions with bilinear interpolation (rotations, scaling, elastic fields)."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def shift_images(X: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Move sample n's content down by dy[n] and right by dx[n] whole pixels, filling with zeros.

    out[n, :, i, j] = X[n, :, i − dy[n], j − dx[n]]: one fancy-indexing gather from the sliding
    windows of the zero-padded batch, no loop over samples.
    """
    n, c, h, w = X.shape
    dy, dx = np.asarray(dy, dtype=np.intp), np.asarray(dx, dtype=np.intp)
    p = int(max(np.abs(dy).max(initial=0), np.abs(dx).max(initial=0)))
    padded = np.zeros((n, c, h + 2 * p, w + 2 * p), X.dtype)
    padded[:, :, p : p + h, p : p + w] = X
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))  # (N, C, 2p+1, 2p+1, H, W)
    return windows[np.arange(n), :, p - dy, p - dx]


def pixel_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of every pixel, float64, shape (H, W)."""
    return np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")


def sample_bilinear(X: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear sampling: out[n, :, i, j] = X[n, :] read at (rows[n, i, j], cols[n, i, j]).

    The value at a fractional position (r, c) is the weighted mean of its four neighbouring pixels,
    weights (1−fr)(1−fc), (1−fr)·fc, fr·(1−fc), fr·fc with fr, fc the fractional parts; pixels
    outside the image count as zero. Integer positions reproduce X exactly. Positions are clipped to
    one pixel beyond the border and read from a zero-padded copy, so no bounds masks are needed.
    """
    n, c, h, w = X.shape
    padded = np.zeros((n, c, h + 3, w + 3), X.dtype)  # one zero row/column before, two after
    padded[:, :, 1 : h + 1, 1 : w + 1] = X
    r, k = np.clip(rows, -1, h), np.clip(cols, -1, w)
    r0, c0 = np.floor(r), np.floor(k)
    fr, fc = (r - r0).astype(X.dtype), (k - c0).astype(X.dtype)
    index = ((r0.astype(np.intp) + 1) * (w + 3) + c0.astype(np.intp) + 1).reshape(n, 1, h * w)
    flat = padded.reshape(n, c, -1)

    def lerp(offset: int) -> np.ndarray:  # along a row: pixel + fc·(right neighbour − pixel)
        left = np.take_along_axis(flat, index + offset, axis=2).reshape(n, c, h, w)
        right = np.take_along_axis(flat, index + offset + 1, axis=2).reshape(n, c, h, w)
        return left + fc[:, None] * (right - left)

    top, bottom = lerp(0), lerp(w + 3)
    return top + fr[:, None] * (bottom - top)


def about_centre(X: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Resample with source = A_n·(p − centre) + centre for each output pixel p; a: (N, 2, 2)."""
    _, _, h, w = X.shape
    ii, jj = pixel_grid(h, w)
    di, dj = ii - (h - 1) / 2, jj - (w - 1) / 2
    a = a[:, :, :, None, None]
    rows = a[:, 0, 0] * di + a[:, 0, 1] * dj + (h - 1) / 2
    cols = a[:, 1, 0] * di + a[:, 1, 1] * dj + (w - 1) / 2
    return sample_bilinear(X, rows, cols)


def gaussian_matrix(n: int, sigma: float) -> np.ndarray:
    """G (n × n) with G·v = v convolved with a Gaussian of std sigma (reflecting borders, radius 4σ)."""
    if sigma == 0:
        return np.eye(n)
    radius = int(4 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (offsets / sigma) ** 2)
    g /= g.sum()
    src = np.mod(np.arange(n)[:, None] + offsets, 2 * n)
    src = np.where(src >= n, 2 * n - 1 - src, src)  # mirror: ... c b a | a b c ... | c b a
    G = np.zeros((n, n))
    np.add.at(G, (np.repeat(np.arange(n), offsets.size), src.ravel()), np.tile(g, n))
    return G
