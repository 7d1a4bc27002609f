"""Imported by a sweep's fork server (nnctl/search/executors.py): numba and the kernels, started
once there for every worker forked from it (see :func:`nnctl.core.kernels.warm_up`)."""

from . import warm_up

warm_up()
