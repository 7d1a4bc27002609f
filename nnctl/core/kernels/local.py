"""The kernels' per-thread state: which path the calling thread uses (set by
:func:`nnctl.core.kernels.use`) and how many threads its kernels may use (set by
:func:`nnctl.core.kernels.threads`). Its own module so that the compiled kernels can read it
without importing the package that loads them."""

from __future__ import annotations

import threading

_local = threading.local()


def thread_count() -> int:
    """How many threads the kernels may use in the calling thread (1 outside :func:`threads`)."""
    return getattr(_local, "threads", 1)
