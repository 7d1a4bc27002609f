"""How many threads a run's matrix products and compiled kernels use.

A run's numbers depend on its configuration, its seed — and the number of BLAS threads: OpenBLAS
splits a product differently over other thread counts, which changes how its sums are rounded.
So the thread count is a run option (``threads``) recorded in ``config.json``: one ``nnctl
train`` uses every core unless told otherwise, each sweep trial one thread (a sweep spreads its
trials over the cores instead), and the same configuration with the same thread count gives the
same bytes.

The same count applies to nnctl's compiled kernels (nnctl/core/kernels: optimizer updates,
activations, loss, im2col/col2im, pooling), which compute every element in one place whatever the
number of threads, so their results do not depend on it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, where the OS reports one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit the BLAS thread pool to ``threads`` inside the block (``None``: leave it as it is)."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(threads), user_api="blas"):
        yield


@contextmanager
def run_threads(threads: int | None) -> Iterator[None]:
    """``threads`` for BLAS and for the compiled kernels called from this thread, inside the block
    (``None``: BLAS as it is, the kernels on one thread)."""
    from ..core import kernels

    with blas_threads(threads), kernels.threads(threads):
        yield
