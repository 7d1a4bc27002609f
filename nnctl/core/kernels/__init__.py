"""Compiled kernels: the few hot loops NumPy cannot fuse, written as plain loops and compiled by numba.

NumPy is the array type and the language of every formula in nnctl; each layer, loss and optimizer
keeps its NumPy implementation, which is the *reference*. Where profiling showed a chain of NumPy
passes to dominate a training step (an optimizer update is up to twelve passes over the parameter
buffer, a convolution's im2col/col2im and pooling are strided copies), the same formula is also
written as one loop over the data, in ``optim.py``, ``elementwise.py``, ``softmax.py``, ``conv.py``
and ``pool.py``; each kernel's docstring gives the NumPy formula it computes. The matrix products
stay in BLAS.

Which path runs. :func:`active` returns the kernel operations (``ops``) or ``None``; layers and
optimizers call it on every use and take the NumPy path on ``None``. The environment variable
``NNCTL_KERNELS`` chooses: ``numba`` the kernels, ``numpy`` the reference path (to compare, or to
debug a formula), ``auto`` (the default) the kernels too, except that the fit loop keeps a small
model on the NumPy path (:func:`for_model`): numba's own start-up, about a second per process,
would cost such a run more than the kernels save. :func:`use` switches within a block, for the
calling thread (the tests compare the two paths with it). Numba is a required dependency: the
reference path is kept because it is the readable formula the kernels are tested against, not as
a way around installing numba. The two paths agree to rounding; the optimizer, ReLU and
pooling kernels give the very same bits.

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

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

from .local import _local, thread_count

ENV = "NNCTL_KERNELS"  # auto (default), numba or numpy
#: in auto mode, runs whose step touches fewer values (parameters plus one minibatch's layer
#: outputs) keep the NumPy path: the digits MLP of the default run has ~24,000, the MNIST-sized
#: benchmark MLP ~540,000 (docs/performance.md measures numba's start-up against the gains)
AUTO_MIN = 1 << 17
_UNSET = object()
_ops: object = _UNSET  # the ops module, None (reference path), or _UNSET (not decided yet)


def mode() -> str:
    """``NNCTL_KERNELS``: auto (default), numba or numpy; ConfigError for anything else."""
    choice = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "numba", "numpy"):
        from ..errors import ConfigError

        raise ConfigError(f"{ENV}={choice!r} is not allowed; allowed: auto, numba, numpy")
    return choice


def _load() -> ModuleType | None:
    global _ops
    ops = None
    if mode() != "numpy" and available():
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
    """The compiled operations, or None when the NumPy reference path is in use (in this thread)."""
    ops = getattr(_local, "ops", _UNSET)
    if ops is _UNSET:
        ops = _ops if _ops is not _UNSET else _load()
    return ops  # type: ignore[return-value]


@contextmanager
def use(enabled: bool) -> Iterator[None]:
    """Use the kernels (True) or the NumPy reference path (False) in this thread inside the block."""
    ops = None
    if enabled:
        if not available():
            raise RuntimeError("numba is not available, so the kernels cannot be used")
        from . import ops
    saved = getattr(_local, "ops", _UNSET)
    _local.ops = ops
    try:
        yield
    finally:
        if saved is _UNSET:
            del _local.ops
        else:
            _local.ops = saved


def step_values(model, batch: int) -> int:
    """What one training step of ``model`` touches: its parameters plus one minibatch of every
    layer's outputs (a built nnctl Model)."""
    outputs = sum(math.prod(layer.output_shape or ()) for layer in model.iter_layers())
    return int(model.n_params) + int(batch) * outputs


def chosen_for(model, batch: int) -> bool:
    """Whether a run of ``model`` with minibatches of ``batch`` uses the kernels (see :func:`for_model`)."""
    choice = mode()
    if choice == "auto":
        return step_values(model, batch) >= AUTO_MIN and available()
    return choice == "numba" and available()


@contextmanager
def for_model(model, batch: int) -> Iterator[bool]:
    """Inside the block, the path a run of ``model`` takes; yields whether it is the kernels.

    With ``NNCTL_KERNELS`` unset (auto), a model whose step touches fewer than :data:`AUTO_MIN`
    values keeps the NumPy path, without importing numba; the choice depends on the model and the
    batch size only, never on the data or the number of epochs.
    """
    if mode() != "auto":
        yield active() is not None
        return
    chosen = chosen_for(model, batch)
    with use(chosen):
        yield chosen


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
