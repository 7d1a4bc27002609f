"""Optimizers: update rules that turn gradients into parameter steps (see base.py for the design).

Importing this package registers every optimizer in ``OPTIMIZERS``.
"""

from . import adam, adaptive, sgd  # noqa: F401  (registration)
from .base import OPTIMIZERS, Block, Optimizer
from .denormals import flush_denormals

__all__ = ["OPTIMIZERS", "Block", "Optimizer", "flush_denormals"]
