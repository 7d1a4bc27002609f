"""nnctl: a command-line experiment runner for studying how neural networks train.

The Python API (see :mod:`nnctl.api`): ``nnctl.train(**options)``, ``nnctl.load_run(path)``,
``nnctl.runs(results_dir)``, ``nnctl.sweep(params, **options)``. They load on first use, so
``import nnctl`` stays light.
"""

from __future__ import annotations

from typing import Any

from .version import __version__

__all__ = ["__version__", "train", "load_run", "runs", "sweep", "Run"]


def __getattr__(name: str) -> Any:
    if name in ("train", "load_run", "runs", "sweep", "Run"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'nnctl' has no attribute {name!r}")
