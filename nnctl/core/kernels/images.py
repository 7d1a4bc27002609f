"""Image batches as planes: how the convolution and pooling kernels see an (N, C, H, W) array.

Convolutions return channel-major memory (C, N, H, W) behind an (N, C, H, W) view, data arrives
batch-major (N, C, H, W). Either way the batch is a stack of contiguous H × W planes; :func:`planes`
gives that stack and where plane (n, c) lies in it, so one kernel serves both layouts (and results
are written in the layout the caller chooses).
"""

from __future__ import annotations

import numpy as np


def planes(a: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """(stack, sn, sc): the (N·C, H, W) view of ``a`` whose plane n·sn + c·sc is ``a[n, c]``;
    None unless ``a`` is stored batch-major or channel-major, each plane contiguous."""
    n, c, h, w = a.shape
    if a.flags.c_contiguous:
        return a.reshape(n * c, h, w), c, 1
    t = a.transpose(1, 0, 2, 3)
    if t.flags.c_contiguous:
        return t.reshape(c * n, h, w), 1, n
    return None


def empty_planes(shape: tuple[int, int, int, int], like: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A new (N, C, H, W) array stored in the order of ``like`` (an array :func:`planes` takes), with
    its plane stack and (sn, sc)."""
    n, c, h, w = shape
    if not like.flags.c_contiguous:  # channel-major
        stack = np.empty((c * n, h, w), dtype)
        return stack.reshape(c, n, h, w).transpose(1, 0, 2, 3), stack, 1, n
    stack = np.empty((n * c, h, w), dtype)
    return stack.reshape(n, c, h, w), stack, c, 1


def as_planes(a: np.ndarray) -> tuple[np.ndarray, int, int, np.ndarray]:
    """:func:`planes` of ``a``, or of a batch-major copy when ``a`` has none; and that array."""
    found = planes(a)
    if found is None:
        a = np.ascontiguousarray(a)
        found = planes(a)
    return (*found, a)  # type: ignore[return-value]
