"""New data for a trained model: read it and check that it fits what the model was trained on.

A trained run says what its inputs must look like (see ``preprocessing.json``): their shape, the
feature columns in their order (CSV data is matched by column name, so extra columns and another
order are fine), the target column and the class names. :func:`read_inputs` reads a CSV, NPZ or
IDX file, or a named dataset (optionally one split of it, split exactly as the run split it), into
raw float32 inputs and — when the data holds them — targets encoded as the run's class indices.
Data that does not fit gets one line naming the difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import DataError
from .dataset import _label_text
from .load import is_file_spec, load_dataset
from .split import split_dataset

SPLITS = ("train", "val", "test", "all")


@dataclass
class Expected:
    """What a model's inputs must look like."""

    input_shape: tuple[int, ...]
    task: str
    classes: list[str]
    feature_names: list[str] | None
    target: str | None


@dataclass
class Inputs:
    """Raw inputs (float32, the model's input shape), targets as class indices or values (or None
    when the data has none), and a name for messages and output files."""

    X: np.ndarray
    y: np.ndarray | None
    name: str


def read_inputs(data: str | None, expected: Expected, run: dict[str, Any], split: str | None = None) -> Inputs:
    """Read ``data`` (a file, a dataset spec, or None for the run's own dataset) for a model that
    expects ``expected``; ``run`` holds the run's resolved options (its seed and split fractions,
    used to reproduce a split). ``split`` picks one split of a dataset (default for the run's own
    dataset: ``test``; for another dataset or a file: all of it)."""
    if split is not None and split not in SPLITS:
        raise DataError(f"split '{split}' is not allowed; allowed: {', '.join(SPLITS)}")
    if data is not None and is_file_spec(data) and split not in (None, "all"):
        raise DataError(f"--split {split} applies to a dataset, not to the file '{data}' (all of it is used)")
    if data is None or not is_file_spec(data):
        return _from_dataset(data or run["data"], expected, run, split or ("test" if data is None else "all"))
    path = Path(data)
    if not path.is_file():
        raise DataError(f"'{data}' does not exist" if not path.exists() else f"'{data}' is not a file")
    name = path.name.lower()
    if name.endswith(".csv"):
        return _from_csv(path, expected)
    if name.endswith(".npz"):
        return _from_npz(path, expected)
    if "idx" in name or name.endswith("-ubyte") or name.endswith("-ubyte.gz"):
        return _from_idx(path, expected)
    raise DataError(f"'{data}' is not a .csv, .npz or IDX file, nor a dataset name")


def _from_dataset(spec: str, expected: Expected, run: dict[str, Any], split: str) -> Inputs:
    ds = load_dataset(
        spec, seed=run["seed"], target=run.get("target") if is_file_spec(spec) else None, task=expected.task
    )
    if split == "all":
        X, y = ds.X, ds.y
    else:
        parts = split_dataset(
            ds,
            run["val_split"],
            run["test_split"],
            seed=run["seed"],
            standardize=False,
            train_size=run.get("train_size"),
        )
        X, y = {
            "train": (parts.X_train, parts.y_train),
            "val": (parts.X_val, parts.y_val),
            "test": (parts.X_test, parts.y_test),
        }[split]
    check_shape(spec, X, expected)
    if expected.task == "classification":
        y = _recode(spec, y, ds.classes, expected.classes)
    return Inputs(X, y, f"{spec} ({split})" if split != "all" else spec)


def _from_csv(path: Path, expected: Expected) -> Inputs:
    import pandas as pd

    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read '{path}' as CSV: {' '.join(str(exc).split())[:200]}") from None
    frame.columns = [str(c) for c in frame.columns]
    target = expected.target if expected.target in frame.columns else None
    if expected.feature_names:
        missing = [c for c in expected.feature_names if c not in frame.columns]
        if missing:
            shown = ", ".join(f"'{c}'" for c in missing[:8]) + (" ..." if len(missing) > 8 else "")
            raise DataError(
                f"'{path}' lacks {len(missing)} column(s) the model was trained on: {shown}; "
                f"expected the columns {', '.join(expected.feature_names)[:200]}"
            )
        features = list(expected.feature_names)
    else:
        features = [c for c in frame.columns if c != target]
    X = _numeric(path, frame[features])
    if X.shape[1] != math.prod(expected.input_shape):
        raise DataError(
            f"'{path}' has {X.shape[1]} feature column(s); the model takes "
            f"{math.prod(expected.input_shape)} (inputs of shape {tuple(expected.input_shape)})"
        )
    X = X.reshape((len(X), *expected.input_shape))
    y = None
    if target is not None:
        values = frame[target].to_numpy()
        y = _encode(str(path), values, expected)
    return Inputs(X, y, path.name)


def _numeric(path: Path, frame) -> np.ndarray:
    import pandas as pd

    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"'{path}': column '{column}' is not numeric; the model takes numbers")
    X = frame.to_numpy(dtype=np.float64)
    if not np.isfinite(X).all():
        rows = np.flatnonzero(~np.isfinite(X).all(axis=1))
        raise DataError(f"'{path}': {len(rows)} row(s) hold missing or infinite values (first: line {rows[0] + 2})")
    return X.astype(np.float32)


def _from_npz(path: Path, expected: Expected) -> Inputs:
    from .files import load_npz_arrays

    X, y = load_npz_arrays(path, expected.target or "y")
    X = np.asarray(X, dtype=np.float32)
    check_shape(str(path), X, expected)
    return Inputs(X, None if y is None else _encode(str(path), y, expected), path.name)


def _from_idx(path: Path, expected: Expected) -> Inputs:
    from .idx import read_idx

    images = read_idx(path).astype(np.float32)
    if images.ndim == 3:
        images = images[:, None]  # (N, H, W) → (N, 1, H, W)
    if images.max(initial=0) > 1.0:
        images /= 255.0  # as the MNIST loaders scale bytes to [0, 1]
    check_shape(str(path), images, expected)
    return Inputs(images, None, path.name)


def check_shape(origin: str, X: np.ndarray, expected: Expected) -> None:
    """One line when the samples of ``X`` are not of the shape the model was trained on."""
    if tuple(X.shape[1:]) != tuple(expected.input_shape):
        raise DataError(
            f"{origin}: inputs of shape {tuple(X.shape[1:])} per sample; the model was trained on "
            f"{tuple(expected.input_shape)}"
        )


def _encode(origin: str, values: np.ndarray, expected: Expected) -> np.ndarray:
    """Targets in the run's encoding: class indices (by class name) or float values."""
    if expected.task == "regression":
        try:
            return np.asarray(values, dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError(f"{origin}: the target is not numeric; the model predicts numbers") from None
    return _recode(origin, np.asarray(values), None, expected.classes)


def _recode(origin: str, values: np.ndarray, names: list[str] | None, classes: list[str]) -> np.ndarray:
    """Labels given as indices into ``names`` (or as values, when ``names`` is None) as indices into
    the run's ``classes``; a label the model never saw is a one-line error."""
    texts = [names[int(v)] if names is not None else _label_text(v) for v in np.asarray(values).reshape(-1)]
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({t for t in texts if t not in index})
    if unknown:
        raise DataError(
            f"{origin}: class(es) {', '.join(repr(u) for u in unknown[:8])} were not among the "
            f"{len(classes)} the model was trained on ({', '.join(classes)[:200]})"
        )
    return np.asarray([index[t] for t in texts], dtype=np.int64)
