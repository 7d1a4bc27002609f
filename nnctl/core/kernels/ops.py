"""The compiled operations, as :func:`nnctl.core.kernels.active` hands them out (importing numba)."""

from __future__ import annotations

from . import conv, elementwise, optim, pool, softmax

__all__ = ["conv", "elementwise", "optim", "pool", "softmax", "warm_up"]


def warm_up() -> None:
    """Load (or compile) the one-thread float32 kernels by running each once on a few elements."""
    import numpy as np

    from ..optimizers import OPTIMIZERS

    for spec in ("sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "nadam"):
        p = np.zeros(4, np.float32)
        opt = OPTIMIZERS.get(spec)
        opt.setup(p, 2)
        opt.step(p, np.ones(4, np.float32))
