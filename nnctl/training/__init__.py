"""Training: run configuration, composing a run from it, the fit loop and metrics.

The names below load their module when first used: a command that only needs the run options
(``--help``) does not import the whole training machinery.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "RunConfig": "config",
    "Callback": "callbacks",
    "Stop": "callbacks",
    "FitResult": "loop",
    "fit": "loop",
    "Prepared": "setup",
    "prepare": "setup",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'nnctl.training' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
