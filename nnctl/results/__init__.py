"""Run directories: the only code that reads or writes results on disk.

The names below load their module when first used, so that importing one light part of the
results layer (say, the output-path checks a command makes at start-up) does not import pandas.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "RunRecord": "runs",
    "RunRecorder": "runs",
    "load_run": "artifacts",
    "provenance": "provenance",
    "make_run_dir": "store",
    "read_json": "store",
    "read_weights": "store",
    "sanitize_name": "store",
    "write_csv": "store",
    "write_json": "store",
    "write_weights": "store",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'nnctl.results' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
