"""Compiled kernels: the few hot loops NumPy cannot fuse, written as plain loops and compiled by numba.

NumPy is the array type and the language of every formula in nnctl; each layer, loss and optimizer
keeps its NumPy implementation, which is the *reference*. Where profiling showed a chain of NumPy
passes to dominate a training step (an optimizer update is up to twelve passes over the parameter
buffer, a convolution's im2col/col2im and pooling are strided copies), the same formula is also
written as one loop over the data, in ``optim.py``, ``elementwise.py``, ``softmax.py``, ``conv.py``
and ``pool.py``; each kernel's docstring gives the NumPy formula it computes. The matrix products
stay in BLAS.

Which path runs. :func:`active` returns the kernel operations (``ops``) or ``None``; layers and
optimizers call it on every use and take the NumPy path on ``None``. The kernels are used when numba
can be imported, unless the environment variable ``NNCTL_KERNELS=numpy`` asks for the reference
path (to compare, or to debug a formula); :func:`use` switches within a block (the tests compare
the two paths with it). Numba is a required dependency: the reference path is kept because it is the
readable formula the kernels are tested against, not as a way around installing numba.

Threads. :func:`threads` sets how many threads the kernels may use inside a block (a run's
``--threads``, together with the BLAS threads; see nnctl/training/threads.py). Outside such a block
they use one. Every kernel computes each output element in exactly one loop iteration and sums in a
fixed order, so its results do not depend on the thread count at all; small arrays run on one
thread anyway (waking numba's worker threads costs more than the work). With one thread the
kernels never touch numba's threading layer, which matters for processes that fork afterwards
(see nnctl/search/executors.py).

Compilation. Each kernel is compiled on first use, for the dtypes it meets, and cached on disk by
numba (``__pycache__`` next to this file, or numba's per-user cache directory when that is not
writable): the first run after installing compiles what it uses (a few seconds), later runs load
it (milliseconds per kernel, plus numba's own start-up, measured in docs/performance.md).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

ENV = "NNCTL_KERNELS"  # "numba" (default) or "numpy" (the reference path)
_UNSET = object()
_ops: object = _UNSET  # the ops module, None (reference path), or _UNSET (not decided yet)
_local = threading.local()


def _load() -> ModuleType | None:
    global _ops
    choice = os.environ.get(ENV, "numba").strip().lower()
    if choice not in ("numba", "numpy"):
        from ..errors import ConfigError

        raise ConfigError(f"{ENV}={choice!r} is not allowed; allowed: numba, numpy")
    ops = None
    if choice == "numba" and available():
        from . import ops
    _ops = ops
    return ops


def available() -> bool:
    """Whether numba can be imported and compiles (``NUMBA_DISABLE_JIT`` would run loops in Python)."""
    try:
        import numba
    except ImportError:
        return False
    return not numba.config.DISABLE_JIT


def active() -> ModuleType | None:
    """The compiled operations, or None when the NumPy reference path is in use."""
    ops = _ops
    if ops is _UNSET:
        ops = _load()
    return ops  # type: ignore[return-value]


@contextmanager
def use(enabled: bool) -> Iterator[None]:
    """Use the kernels (True) or the NumPy reference path (False) inside the block."""
    global _ops
    saved = _ops
    _ops = None
    if enabled:
        if not available():
            raise RuntimeError("numba is not available, so the kernels cannot be used")
        from . import ops

        _ops = ops
    try:
        yield
    finally:
        _ops = saved


def thread_count() -> int:
    """How many threads the kernels may use in the calling thread (1 outside :func:`threads`)."""
    return getattr(_local, "threads", 1)


@contextmanager
def threads(n: int | None) -> Iterator[None]:
    """Let the kernels called from this thread use ``n`` threads inside the block (None: unchanged)."""
    if n is None:
        yield
        return
    n = max(1, int(n))
    saved = thread_count()
    _local.threads = n
    restore = None
    try:
        if n > 1 and active() is not None:
            from ._compile import set_threads

            restore = set_threads(n)
        yield
    finally:
        _local.threads = saved
        if restore is not None:
            restore()


def warm_up() -> None:
    """Import numba and the kernels and pay numba's one-time start-up, without threads.

    A sweep's fork server calls this once (kernels/preload.py), so that every worker forked from
    it starts with numba initialized; a worker then loads each kernel its trials use from the disk
    cache once (milliseconds), never compiling one that was compiled before. Nothing threaded is
    loaded: that would start numba's threading layer, which (GNU OpenMP) must not be used before a
    fork.
    """
    ops = active()
    if ops is not None:
        ops.warm_up()
