"""The compiled operations, as :func:`nnctl.core.kernels.active` hands them out (importing numba)."""

from __future__ import annotations

from . import conv, elementwise, optim, pool, softmax

__all__ = ["conv", "elementwise", "optim", "pool", "softmax", "warm_up"]


def warm_up() -> None:
    """Pay numba's one-time start-up (its registries, ~0.2-0.5 s) by loading one small kernel.

    Loading a kernel from the disk cache then takes milliseconds; compiling one that is not cached
    yet takes about a second, so only this one is loaded here (compiled on the very first use).
    """
    import numpy as np

    x = np.zeros(1, np.float32)
    elementwise.relu.serial(x, x, np.float32(0))
