"""The only code that reads and writes run directories.

A run directory ``<results>/<run-id>/`` holds:

``config.json``   the resolved configuration (every default explicit), layer list, provenance
``curve.csv``     one row per epoch, epoch 0 measured before any update
``metrics.csv``   one row: status, best epoch, final metrics; ``status=running`` while training
``weights.npz``   the returned model's parameters (``np.load(..., allow_pickle=False)`` reads it)

Every file is written to a temporary name in the same directory and renamed into place, so a reader
never sees a half-written file: after a crash, ``curve.csv`` holds the finished epochs and
``metrics.csv`` still says ``running``.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.errors import ConfigError, DataError, RunFailure

CURVE_COLUMNS = [
    "epoch", "step", "lr", "train_loss", "train_acc", "train_mae", "val_loss", "val_acc", "val_mae",
    "reg_loss", "grad_norm", "epoch_seconds", "samples_per_second",
]
TIMING_COLUMNS = ("epoch_seconds", "samples_per_second", "wall_seconds", "train_seconds", "samples_per_second_mean")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_name(name: str | None) -> str:
    """A run name safe as one path component: no separators, no leading dots, at most 60 chars."""
    if not name:
        return ""
    clean = _SAFE.sub("-", str(name)).strip(".-_")
    clean = re.sub(r"-{2,}", "-", clean)
    return clean[:60]


def new_run_id(name: str | None = None) -> str:
    """Unique and sortable by time: ``YYYYmmdd-HHMMSS-<6 hex>[-name]``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    suffix = sanitize_name(name)
    return f"{stamp}-{secrets.token_hex(3)}" + (f"-{suffix}" if suffix else "")


def make_run_dir(results_dir: str | os.PathLike, name: str | None = None) -> Path:
    """Create a fresh run directory inside ``results_dir`` (never outside it, never reused)."""
    root = Path(results_dir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create results directory '{root}': {exc.strerror or exc}") from None
    if not os.access(root, os.W_OK):
        raise ConfigError(f"results directory '{root}' is not writable; choose another with --results-dir")
    for _ in range(20):
        path = root / new_run_id(name)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot create run directory in '{root}': {exc.strerror or exc}") from None
        return path
    raise RunFailure(f"could not create a unique run directory in '{root}'")


# --- atomic writing --------------------------------------------------------------------------------


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path``, flush it to disk, rename it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise RunFailure(f"cannot write '{path}': {exc.strerror or exc}") from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    return value


def write_json(path: str | os.PathLike, obj: Any) -> None:
    atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise DataError(f"no such file: '{path}'") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{path}' is not valid JSON: {exc}") from None


def write_csv(path: str | os.PathLike, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Write rows as CSV atomically; ``columns`` fixes the order (missing values left empty)."""
    frame = pd.DataFrame(rows)
    if columns is not None:
        present = [c for c in columns if c in frame.columns]
        rest = [c for c in frame.columns if c not in columns]
        frame = frame[present + rest]
    buf = io.StringIO()
    frame.to_csv(buf, index=False, float_format="%.10g")
    atomic_write_text(path, buf.getvalue())


def write_weights(path: str | os.PathLike, state: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **state)
    atomic_write_bytes(path, buf.getvalue())


def read_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load weights written by :func:`write_weights`; never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise DataError(f"no such weights file: '{path}'") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"'{path}' is not a valid weights .npz file: {exc}") from None
