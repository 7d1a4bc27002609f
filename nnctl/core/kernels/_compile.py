"""One loop, compiled twice by numba: for one thread and for numba's thread pool.

A kernel is an ordinary Python function whose outer loop is ``prange`` over independent work items
(chunks of a flat buffer, rows, image planes). :class:`Kernel` compiles it lazily, on first call
with each combination of argument types, twice: without ``parallel`` (``prange`` is then a plain
``range``) and with it. Both are cached on disk. The calling wrapper says how much work a call is;
calls below :data:`PARALLEL_MIN` elements, or with one thread allowed, take the one-thread version.

Compiler options: ``error_model="numpy"`` (division by zero gives inf/nan as in NumPy instead of
raising, and keeps loops vectorizable); no ``fastmath``: every kernel performs the IEEE operations its
NumPy formula performs, in the same order, so (apart from exp/log/tanh, whose implementations differ
from NumPy's by an ulp) it returns the same bits. Loops index slices from 0 (``for i in
range(a.size)``), which lets LLVM vectorize them (a loop from an arbitrary start does not).
"""

from __future__ import annotations

import os
import threading
import types

import numba
from numba import njit

from .local import thread_count

#: calls that read and write fewer values in all run on one thread. Passes over the data are
#: memory-bound, and on the 2-core machine of docs/performance.md a second thread only paid off
#: from about four million values (Adam over a million parameters: 1.46×; ReLU over four million
#: values: 1.34×; below, waking numba's worker thread cost more than it saved). It also keeps
#: small runs from compiling the threaded versions at all.
PARALLEL_MIN = 1 << 22
#: elements per work item of the 1-D kernels (16 Ki float32: 64 KiB per buffer, L2-resident)
CHUNK = 1 << 14

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", boundscheck=False)
_launch = threading.Lock()  # numba's workqueue layer (used where OpenMP is missing) is not thread-safe
_threading_ready = False


class Kernel:
    """A loop compiled for one thread (:attr:`serial`) and for several (:attr:`parallel`)."""

    def __init__(self, fn):
        self.__wrapped__ = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self.parallel = njit(parallel=True, **_OPTIONS)(fn)
        # a copy under another name, so that numba's disk cache keeps the two versions apart
        clone = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        clone.__qualname__ = fn.__qualname__ + "_one_thread"
        self.serial = njit(**_OPTIONS)(clone)

    def __call__(self, work: int, *args):
        """Run on ``args``; ``work`` (values read and written) decides between one thread and several."""
        if work >= PARALLEL_MIN and thread_count() > 1:
            if not _threading_ready:  # the kernels were switched on inside a threads() block
                set_threads(thread_count())
            with _launch:
                return self.parallel(*args)
        return self.serial(*args)


def kernel(fn) -> Kernel:
    """Decorator: compile ``fn`` as a :class:`Kernel`."""
    return Kernel(fn)


helper = njit(inline="always", **{k: v for k, v in _OPTIONS.items() if k != "nogil"})
"""Decorator for small functions the kernels call (inlined into them: compiles faster, measured)."""


@helper
def n_chunks(n):
    """How many :data:`CHUNK`-sized work items cover ``n`` elements."""
    return (n + CHUNK - 1) // CHUNK


@helper
def chunk(c, n):
    """(start, stop) of work item ``c`` of ``n`` elements."""
    lo = c * CHUNK
    return lo, min(lo + CHUNK, n)


def _start_threading() -> None:
    """Load numba's threading layer once, so that its idle threads sleep instead of spinning.

    GNU OpenMP's default is to spin-wait after each parallel region; next to BLAS threads (which
    also wait actively) on a machine with few cores that made steps milliseconds slower (measured
    in docs/performance.md). So ``OMP_WAIT_POLICY=passive`` is set while numba loads its OpenMP
    runtime (which reads it then), unless the user has set it. That cannot work when another OpenMP
    runtime is already loaded (PyTorch's, for one: numba's calls then go to it, spinning): numba's
    own ``workqueue`` layer is used instead, unless NUMBA_THREADING_LAYER says otherwise.
    """
    global _threading_ready
    if _threading_ready:
        return
    if "NUMBA_THREADING_LAYER" not in os.environ and _openmp_loaded():
        numba.config.THREADING_LAYER = "workqueue"
    policy = "OMP_WAIT_POLICY"
    ours = policy not in os.environ
    if ours:
        os.environ[policy] = "passive"
    try:
        numba.get_num_threads()  # loads the threading layer
    finally:
        if ours:
            os.environ.pop(policy, None)
    _threading_ready = True


def _openmp_loaded() -> bool:
    """Whether an OpenMP runtime is loaded in this process already (threadpoolctl sees it)."""
    try:
        from threadpoolctl import threadpool_info

        return any(info.get("user_api") == "openmp" for info in threadpool_info())
    except Exception:
        return False


def set_threads(n: int):
    """Let numba's parallel kernels use ``n`` threads (capped at numba's pool); returns the undo."""
    _start_threading()
    saved = numba.get_num_threads()
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    return lambda: numba.set_num_threads(saved)
