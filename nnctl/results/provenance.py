"""What a run's numbers came from, recorded in its config.json so that it can be reproduced.

- the command line that started it;
- the versions of everything that touched the numbers: nnctl, Python, NumPy, the BLAS library
  NumPy multiplies with (and how many threads it used), whether the compiled kernels or the NumPy
  reference path ran (``kernels``), numba's version when it was loaded;
- the git commit of the working directory, and whether it had uncommitted changes, when it is a
  repository (the experiment scripts and data files a run reads often live in one);
- a SHA-256 of the training data as trained on (inputs and targets, after the split): two runs
  with the same hash saw the same numbers.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..core import kernels
from ..version import __version__


def provenance(cwd: str | Path | None = None) -> dict[str, Any]:
    """The versions, the command line and the repository state (see the module docstring)."""
    info: dict[str, Any] = {
        "nnctl": __version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "argv": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else [],  # the program as typed
    }
    # which implementation of the hot loops this thread runs (the two agree to rounding)
    info["kernels"] = "numba" if kernels.active() is not None else "numpy"
    if "numba" in sys.modules:
        info["numba"] = getattr(sys.modules["numba"], "__version__", None)
    try:
        from threadpoolctl import threadpool_info

        blas = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if blas:
            b = blas[0]
            info["blas"] = {
                "library": b.get("internal_api"),
                "version": b.get("version"),
                "architecture": b.get("architecture"),
                "threads": b.get("num_threads"),
            }
    except Exception:  # provenance is informative; never fail a run over it
        pass
    git = git_state(cwd)
    if git is not None:
        info["git"] = git
    return info


def git_state(cwd: str | Path | None = None) -> dict[str, Any] | None:
    """``{"commit": ..., "dirty": ...}`` of the repository containing ``cwd``, or None (no git, no
    repository, or git too slow: it is asked with a short timeout)."""

    def ask(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=3)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = ask("rev-parse", "HEAD")
    if not commit:
        return None
    status = ask("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def data_hash(*arrays: np.ndarray) -> str:
    """SHA-256 over the arrays' dtypes, shapes and bytes, in order."""
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()
