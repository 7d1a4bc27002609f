"""The only code that reads and writes run directories.

A run directory ``<results>/<run-id>/`` holds:

``config.json``   the resolved configuration (every default explicit), layer list, provenance
``curve.csv``     one row per epoch, epoch 0 measured before any update
``metrics.csv``   one row: status, best epoch, final metrics; ``status=running`` while training
``weights.npz``   the returned model's parameters (``np.load(..., allow_pickle=False)`` reads it)

Every file is written to a temporary name in the same directory and renamed into place, so a reader
never sees a half-written file: after a crash, ``curve.csv`` holds the finished epochs and
``metrics.csv`` still says ``running``. Before a run directory is made, a probe file is written
and removed in the results directory, so a full disk or a place that cannot be written fails before
training starts. Run names are reduced to one safe path component (:func:`sanitize_name`), and a
training process holds a lock on its run directory (:class:`RunLock`) that the operating system
drops when the process ends, however it ends.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import re
import secrets
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError, DataError, RunFailure, one_line

try:  # advisory locks: POSIX only
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

CURVE_COLUMNS = [
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_acc",
    "train_mae",
    "val_loss",
    "val_acc",
    "val_mae",
    "reg_loss",
    "grad_norm",
    "epoch_seconds",
    "samples_per_second",
]
TIMING_COLUMNS = ("epoch_seconds", "samples_per_second", "wall_seconds", "train_seconds", "samples_per_second_mean")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_name(name: str | None) -> str:
    """A run name safe as one path component: ASCII letters, digits, ``.``, ``_`` and ``-`` only; no
    separators, no ``..``, no leading dots or dashes, at most 60 chars (``../../x`` gives ``x``)."""
    if not name:
        return ""
    clean = _SAFE.sub("-", re.sub(r"\.{2,}", "-", str(name))).strip(".-_")
    clean = re.sub(r"-{2,}", "-", clean)
    return clean[:60]


#: a run id as :func:`new_run_id` makes it; group 1 the stamp, group 2 the name (None without one)
RUN_ID = re.compile(r"(\d{8}-\d{6}-[0-9a-f]{6})(?:-([A-Za-z0-9._-]+))?")


def new_run_id(name: str | None = None) -> str:
    """Unique and sortable by time: ``YYYYmmdd-HHMMSS-<6 hex>[-name]`` (:data:`RUN_ID`)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime())
    suffix = sanitize_name(name)
    return f"{stamp}-{secrets.token_hex(3)}" + (f"-{suffix}" if suffix else "")


_RUNTIME_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EIO, getattr(errno, "EDQUOT", errno.ENOSPC)}
PROBE_BYTES = 64 * 1024  # written and removed before a run starts: fails early on a full disk
MIN_FREE_BYTES = 1 << 20


def _dir_error(what: str, path: Path, exc: OSError) -> Exception:
    """``<what> '<path>': <reason>``. A full disk (or a file-size limit) is a runtime failure (exit
    1); anything else means the directory cannot be used at all: choose another (exit 2)."""
    reason = exc.strerror or str(exc)
    if exc.errno in _RUNTIME_ERRNOS:
        return RunFailure(f"{what} '{path}': {reason}; free some space or choose another --results-dir")
    return ConfigError(f"{what} '{path}': {reason}; choose another --results-dir")


def check_results_dir(results_dir: str | os.PathLike, need_bytes: int = 0) -> Path:
    """Create ``results_dir`` if needed and prove that files can be written in it.

    Raises ConfigError (exit 2) when the path cannot hold results (a file, an unwritable or
    read-only place) and RunFailure (exit 1) when the disk is full or has less free space than
    ``need_bytes`` plus a margin.
    """
    root = Path(results_dir)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"results directory '{root}' is a file, not a directory; choose another --results-dir")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _dir_error("cannot create results directory", root, exc) from None
    if not os.access(root, os.W_OK):
        raise ConfigError(f"results directory '{root}' is not writable; choose another --results-dir")
    probe_write(root)
    _check_free_space(root, need_bytes)
    return root


def probe_write(directory: Path, size: int = PROBE_BYTES) -> None:
    """Write ``size`` bytes to a temporary file in ``directory``, flush them to disk, remove the file."""
    probe = directory / f".nnctl-probe-{os.getpid()}-{secrets.token_hex(3)}"
    try:
        with open(probe, "xb") as fh:
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise _dir_error("cannot write to results directory", directory, exc) from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def _check_free_space(root: Path, need_bytes: int) -> None:
    try:
        free = shutil.disk_usage(root).free
    except OSError:  # not reported here: the probe write is the check
        return
    need = 2 * max(0, int(need_bytes)) + MIN_FREE_BYTES  # a file is replaced by writing a second copy
    if free < need:
        raise RunFailure(
            f"not enough space in results directory '{root}': {_size(free)} free, the run needs about "
            f"{_size(need)}; free some space or choose another --results-dir"
        )


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def make_run_dir(results_dir: str | os.PathLike, name: str | None = None, need_bytes: int = 0) -> Path:
    """Create a fresh run directory inside ``results_dir`` (never outside it, never reused).

    First a probe file is written and removed in ``results_dir`` (:func:`check_results_dir`), so a
    full disk or a results directory that cannot be written fails here, before training starts,
    and leaves no run directory behind. ``need_bytes`` (e.g. the size of the weights) is checked against free space.
    """
    root = check_results_dir(results_dir, need_bytes)
    for _ in range(20):
        path = root / new_run_id(name)
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise _dir_error("cannot create a run directory in", root, exc) from None
        return path
    raise RunFailure(f"could not create a unique run directory in '{root}'")


def inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside ``root`` (symlinks resolved)."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return False
    return True


# --- a running run holds a lock on its directory ----------------------------------------------------


class RunLock:
    """An exclusive advisory lock (``flock``) on a run directory, held while the run trains.

    The operating system releases it when the process ends, however it ends (even ``kill -9``), so
    a reader can tell a run that is still training from one whose process died.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.fd: int | None = None
        self.busy = False  # another process held the lock when acquire() tried

    def acquire(self) -> RunLock:
        """Take the lock if it can be had at once; ``busy`` says whether another process holds it."""
        if fcntl is None or self.fd is not None:
            return self
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return self
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            self.busy = isinstance(exc, BlockingIOError)
            return self
        self.fd = fd
        self.busy = False
        return self

    def release(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.close(fd)  # closing the descriptor drops the lock
            except OSError:
                pass

    def __del__(self):
        self.release()


def is_locked(path: str | os.PathLike) -> bool | None:
    """Whether some process holds :class:`RunLock` on ``path``; None where that cannot be told."""
    if fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    finally:
        os.close(fd)  # also drops the shared lock just taken
    return False


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
    except BaseException as exc:  # also Ctrl-C mid-write: never leave the temporary behind
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise RunFailure(f"cannot write '{path}': {exc.strerror or exc}") from None
        raise


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


#: how deeply the JSON files of results may nest (nnctl writes a few levels): deeper is damage, and
#: code walking it (a page, a table) would run out of recursion
MAX_JSON_DEPTH = 64


def read_json(path: str | os.PathLike) -> Any:
    """A JSON file nnctl wrote, parsed as data; whatever keeps it from being read (missing, not a
    file, not UTF-8, malformed, nested deeper than :data:`MAX_JSON_DEPTH`) is a one-line DataError
    naming it."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise DataError(f"no such file: '{path}'") from None
    except RecursionError:
        raise DataError(
            f"'{path}' is not a file nnctl wrote: values are nested more than {MAX_JSON_DEPTH} levels deep"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{path}' is not valid JSON: {exc}") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise DataError(f"'{path}' is not valid JSON: {one_line(exc)}") from None
    except OSError as exc:  # a directory, no permission
        raise DataError(f"'{path}' cannot be read: {exc.strerror or type(exc).__name__}") from None
    if _depth(doc) > MAX_JSON_DEPTH:
        raise DataError(f"'{path}' is not a file nnctl wrote: values are nested more than {MAX_JSON_DEPTH} levels deep")
    return doc


def _depth(doc: Any) -> int:
    """How many arrays and objects lie inside each other at the deepest point (without recursing)."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (dict, list)) and level <= MAX_JSON_DEPTH + 1:
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def write_csv(path: str | os.PathLike, rows: list[dict[str, Any]], columns: list[str] | None = None) -> None:
    """Write rows as CSV atomically; ``columns`` fixes the order of the columns the rows have (others
    follow in the order they first appear; missing values, None and NaN are left empty). Floats
    keep 10 significant digits. Written with the standard library: a training run needs no pandas."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    order = [c for c in (columns or []) if c in seen] + [c for c in seen if c not in (columns or [])]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(order)
    writer.writerows([[_cell(row.get(c)) for c in order] for row in rows])
    atomic_write_text(path, buf.getvalue())


def as_written(value: float) -> float:
    """A float as :func:`write_csv` writes it and reading the file gives it back (10 significant
    digits): what a decision made now must use to be made the same way from the file later."""
    return float(f"{value:.10g}")


def written_true(value: Any) -> bool:
    """Whether a flag read back from a CSV :func:`write_csv` wrote is true (``True``, ``"True"``, 1)."""
    return value is True or (isinstance(value, str) and value.lower() == "true") or value == 1


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        return "" if math.isnan(value) else f"{value:.10g}"  # as_written
    if isinstance(value, np.integer):
        return str(int(value))
    return str(value)


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def npz_bytes(state: dict[str, np.ndarray]) -> bytes:
    """The ``.npz`` archive ``np.savez`` writes, without its wall-clock timestamps: the same
    arrays always give the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for key, value in state.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            with archive.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, np.asanyarray(value), allow_pickle=False)
    return buf.getvalue()


def write_weights(path: str | os.PathLike, state: dict[str, np.ndarray]) -> None:
    atomic_write_bytes(path, npz_bytes(state))


def read_weights(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load weights written by :func:`write_weights`; never unpickles."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise DataError(f"no such weights file: '{path}'") from None
    except (ValueError, OSError) as exc:
        raise DataError(f"'{path}' is not a valid weights .npz file: {exc}") from None
