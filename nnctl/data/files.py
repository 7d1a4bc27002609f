"""Datasets from the user's own files: ``.csv`` (with a header line) and ``.npz`` (arrays X and y).

CSV
    Read with :func:`pandas.read_csv`. One column is the target: the one named by ``target``, else
    a column called ``target``, ``label`` or ``y`` (any case), else the last column. Every other
    column is a feature and must be numeric and complete. A first column with an empty header
    (``Unnamed: 0``, what ``DataFrame.to_csv`` writes for the index) is dropped, since a row number
    is not a feature. The file must start with a header line of column names.
NPZ
    Read with ``np.load(path, allow_pickle=False)`` (never unpickles). Arrays ``X`` and ``y`` (or the
    array named by ``target``). ``X`` of shape (N,) becomes (N, 1); (N, H, W) becomes grayscale images
    (N, 1, H, W); (N, C, H, W) is kept (channels first).

The task (classification or regression) is inferred from the target unless given; see
:func:`nnctl.data.dataset.infer_task`. Class labels are encoded as 0..C-1 in sorted order of the
original values, which are kept in ``Dataset.classes``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import DataError, suggestion
from .dataset import Dataset, encode_target

#: Column names taken as the target when ``target`` is not given (compared case-insensitively).
TARGET_NAMES = ("target", "label", "y")
SUFFIXES = (".csv", ".csv.gz", ".npz")


def load_file(path: str | Path, *, target: str | None = None, task: str | None = None) -> Dataset:
    """Load a ``.csv`` or ``.npz`` file as a :class:`Dataset` (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"dataset file '{path}' does not exist")
    if p.is_dir():
        raise DataError(f"'{path}' is a directory; expected a .csv or .npz file")
    name = p.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return load_csv(p, target=target, task=task)
    if name.endswith(".npz"):
        return load_npz(p, target=target, task=task)
    raise DataError(f"unsupported dataset file '{path}'; expected one of: {', '.join(SUFFIXES)}")


def _line(index: int) -> int:
    """Line number in the file of data row ``index`` (line 1 is the header)."""
    return index + 2


def _pick_target(path: Path, columns: list[str], target: str | None) -> str:
    if target is not None:
        if target not in columns:
            raise DataError(
                f"'{path}' has no column '{target}'; columns: {', '.join(columns)}"
                + suggestion(target, columns)
            )
        return target
    for column in columns:
        if column.lower() in TARGET_NAMES:
            return column
    return columns[-1]


def _looks_headerless(columns: list[str]) -> bool:
    """True when every column name is a number other than the plain 0..F-1 that pandas writes."""
    try:
        values = [float(c) for c in columns]
    except ValueError:
        return False
    return values != list(range(len(columns)))


def load_csv(path: str | Path, *, target: str | None = None, task: str | None = None) -> Dataset:
    """Load a CSV file with a header line; see the module docstring for the column rules."""
    path = Path(path)
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"'{path}' is empty; expected a header line of column names, then one row per sample"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
        raise DataError(f"cannot read '{path}' as CSV: {exc}") from None
    df.columns = [str(c) for c in df.columns]
    if len(df.columns) and df.columns[0].startswith("Unnamed: 0"):
        df = df.drop(columns=df.columns[0])
    columns = list(df.columns)
    if _looks_headerless(columns):
        raise DataError(
            f"'{path}' seems to have no header line (its first line is {','.join(columns)[:60]}); "
            "add a first line of column names"
        )
    if len(df) == 0:
        raise DataError(f"'{path}' has a header ({', '.join(columns)}) but no data rows")
    target = _pick_target(path, columns, target)
    features = [c for c in columns if c != target]
    if not features:
        raise DataError(
            f"'{path}' has only the target column '{target}'; at least one feature column is needed"
        )

    for column in features:
        col = df[column]
        if not pd.api.types.is_numeric_dtype(col):
            coerced = pd.to_numeric(col, errors="coerce")
            bad = np.flatnonzero((col.notna() & coerced.isna()).to_numpy())
            i = int(bad[0]) if len(bad) else 0
            raise DataError(
                f"'{path}': column '{column}' is not numeric (e.g. {col.iloc[i]!r} on line {_line(i)}); "
                "encode it as numbers or drop the column"
            )
    X = df[features].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, j])
        raise DataError(
            f"'{path}': column '{features[j]}' has {len(rows)} missing or infinite value(s) "
            f"(first on line {_line(int(rows[0]))}); fill them or drop those rows"
        )

    col = df[target]
    missing = np.flatnonzero(col.isna().to_numpy())
    if len(missing):
        raise DataError(
            f"'{path}': target column '{target}' has {len(missing)} missing value(s) "
            f"(first on line {_line(int(missing[0]))}); drop those rows"
        )
    values = col.to_numpy() if pd.api.types.is_numeric_dtype(col) else col.astype(str).to_numpy(dtype=str)
    y, task, classes = encode_target(f"'{path}' (target '{target}')", values, task)
    return Dataset(X=X, y=y, task=task, name=str(path), classes=classes, feature_names=features)


def _array(archive, path: Path, key: str) -> np.ndarray:
    try:
        return archive[key]
    except ValueError:
        raise DataError(
            f"array '{key}' in '{path}' holds Python objects (dtype=object), which are not loaded "
            "for safety; save plain numeric or string arrays"
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read array '{key}' from '{path}': {exc}") from None


def load_npz(path: str | Path, *, target: str | None = None, task: str | None = None) -> Dataset:
    """Load arrays ``X`` and ``y`` (or ``target``) from an ``.npz`` archive, without unpickling."""
    path = Path(path)
    key = target or "y"
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read '{path}' as an .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(
            f"'{path}' holds a single array, not an .npz archive; save with np.savez(path, X=..., y=...)"
        )
    with archive:
        missing = [k for k in ("X", key) if k not in archive.files]
        if missing:
            raise DataError(
                f"'{path}' has no array {' or '.join(repr(m) for m in missing)}; found: "
                f"{', '.join(archive.files) or 'nothing'}; "
                f"save with np.savez(path, X=inputs, {key}=targets)"
            )
        X = _array(archive, path, "X")
        y = _array(archive, path, key)
    if X.dtype.kind not in "biuf":
        raise DataError(f"'{path}': X must be numeric, got dtype {X.dtype}")
    if y.dtype.kind not in "biufUS":
        raise DataError(f"'{path}': {key} must be numbers or strings, got dtype {y.dtype}")
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise DataError(f"'{path}': X has shape {X.shape} and {key} has shape {y.shape}; "
                        "they must have the same number of samples (first axis)")
    if X.ndim == 1:
        X = X[:, None]
    elif X.ndim == 3:
        X = X[:, None]
    elif X.ndim > 4:
        raise DataError(f"'{path}': X has shape {X.shape}; expected (N, F), (N, H, W) or (N, C, H, W)")
    if y.dtype.kind == "S":
        y = y.astype(str)
    y, task, classes = encode_target(f"'{path}' ({key})", y, task)
    return Dataset(X=X, y=y, task=task, name=str(path), classes=classes)
