"""The :class:`Dataset` every loader returns, and the label/task helpers loaders share.

A dataset is a pair of arrays with a little metadata:

* ``X``: float32, one row per sample. Tabular data is ``(N, F)``; images keep ``(N, C, H, W)``
  (channels first, as PyTorch does), so convolutional layers see their natural layout. Inputs of any
  other numeric type (integer columns, float16 or float64 arrays, booleans) are converted explicitly
  to float32 here; ``source_dtype`` keeps the type the loader read, for the record. Finite values
  beyond the float32 range (|x| > 3.4e38) are refused rather than silently becoming inf.
* ``y``: for classification, int64 labels ``0..C-1`` (the original label values, as strings, are kept
  in ``classes`` so predictions can be reported in the user's terms); for regression, float32 of
  shape ``(N,)`` or ``(N, k)``.

The constructor checks what every later stage relies on (same length, no NaN/inf, labels in range)
so a bad dataset fails at load time with a message naming it, not as a NaN loss in epoch 3.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core.errors import DataError
from ..core.registry import check_choice

TASKS = ("classification", "regression")

#: A numeric target is taken as class labels when it is integer-valued with at most this many
#: distinct values (a target with string or boolean values is always taken as labels).
MAX_INFERRED_CLASSES = 50


@dataclass
class Dataset:
    """Inputs, targets and what they mean. See the module docstring for the array conventions."""

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str
    classes: list[str] = field(default_factory=list)
    feature_names: list[str] | None = None
    #: The dtype of the inputs as read from the source (before the conversion to float32).
    source_dtype: str | None = None

    def __post_init__(self) -> None:
        check_choice("dataset", "task", self.task, TASKS)
        raw = np.asarray(self.X)
        if raw.dtype.kind not in "biuf":
            raise DataError(f"{self.name}: X must be numeric (bool, integer or float), got dtype {raw.dtype}")
        if self.source_dtype is None:
            self.source_dtype = str(raw.dtype)
        with np.errstate(over="ignore"):  # values beyond float32 are reported below, by count
            self.X = raw.astype(np.float32, copy=False)
        y = np.asarray(self.y)
        if self.X.ndim < 2:
            raise DataError(
                f"{self.name}: X has shape {self.X.shape}; expected (samples, features) "
                "or (samples, channels, height, width)"
            )
        n = self.X.shape[0]
        if n == 0:
            raise DataError(f"{self.name}: the dataset has no samples")
        if y.shape[:1] != (n,):
            raise DataError(f"{self.name}: X has {n} samples but y has shape {y.shape}; they must have the same length")
        _check_finite(self.name, "X", self.X, raw)
        if self.task == "classification":
            self.y = _check_labels(self.name, y)
            if not self.classes:
                self.classes = [str(i) for i in range(int(self.y.max()) + 1)]
            self.classes = [str(c) for c in self.classes]
            if self.y.max() >= len(self.classes):
                raise DataError(
                    f"{self.name}: label {int(self.y.max())} is out of range for "
                    f"{len(self.classes)} classes (labels must be 0..{len(self.classes) - 1})"
                )
        else:
            if y.dtype.kind not in "biuf" or y.ndim > 2:
                raise DataError(
                    f"{self.name}: regression targets must be numbers of shape (N,) or (N, k), "
                    f"got dtype {y.dtype} and shape {y.shape}"
                )
            self.y = y.astype(np.float32)
            _check_finite(self.name, "y", self.y)
            self.classes = []
        if self.feature_names is not None:
            self.feature_names = [str(f) for f in self.feature_names]
            if self.X.ndim != 2 or len(self.feature_names) != self.X.shape[1]:
                raise DataError(f"{self.name}: {len(self.feature_names)} feature names for X of shape {self.X.shape}")

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def is_image(self) -> bool:
        """True for ``(N, C, H, W)`` inputs."""
        return self.X.ndim == 4

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one sample, without the batch axis: ``(F,)`` or ``(C, H, W)``."""
        return tuple(int(d) for d in self.X.shape[1:])

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        return len(self.classes)

    @property
    def n_outputs(self) -> int:
        """Units the output layer needs: one per class, or one per regression target."""
        if self.task == "classification":
            return self.n_classes
        return 1 if self.y.ndim == 1 else int(self.y.shape[1])

    def class_counts(self) -> np.ndarray:
        """Samples per class, ``counts[c]`` for class index ``c`` (empty for regression)."""
        if self.task != "classification":
            return np.zeros(0, dtype=np.int64)
        return np.bincount(self.y, minlength=self.n_classes)

    def info(self) -> dict:
        """A plain summary (for listings and run records)."""
        out = {
            "name": self.name,
            "task": self.task,
            "samples": len(self),
            "input_shape": list(self.input_shape),
            "outputs": self.n_outputs,
        }
        if self.task == "classification":
            out["classes"] = list(self.classes)
            out["class_counts"] = self.class_counts().tolist()
        out["dtype"] = str(self.X.dtype)
        out["source_dtype"] = self.source_dtype
        return out


def _check_finite(name: str, what: str, a: np.ndarray, source: np.ndarray | None = None) -> None:
    """Refuse NaN/inf in ``a``; ``source`` (the array before conversion to float32) tells values that
    were finite but too large for float32 apart from values that were NaN/inf to begin with."""
    bad = ~np.isfinite(a)
    if not bad.any():
        return
    per_row = bad.reshape(len(a), -1).any(axis=1)
    rows, first = int(per_row.sum()), int(np.argmax(per_row))
    if source is not None and source.dtype.kind == "f" and source.dtype.itemsize > 4:
        overflow = bad & np.isfinite(source)
        if overflow.any():
            raise DataError(
                f"{name}: {what} has {int(overflow.sum())} value(s) beyond the float32 range "
                f"(|x| > {np.finfo(np.float32).max:.3g}), e.g. {source[overflow][0].item():g}; "
                "rescale those features (e.g. take a logarithm or change units)"
            )
    raise DataError(
        f"{name}: {what} has {int(bad.sum())} NaN or infinite value(s) in {rows} sample(s) "
        f"(first: sample {first}); remove or fill them first"
    )


def _check_labels(name: str, y: np.ndarray) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{name}: class labels must have shape (N,), got {y.shape}")
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not (y == np.round(y)).all():
            raise DataError(f"{name}: class labels must be whole numbers 0..C-1")
    elif y.dtype.kind not in "biu":
        raise DataError(f"{name}: class labels must be integers 0..C-1, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if y.min() < 0:
        raise DataError(f"{name}: class labels must be 0..C-1, found {int(y.min())}")
    return y


def _label_text(value: object) -> str:
    """How an original label value is shown: whole floats without '.0', everything else as str."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def infer_task(values: np.ndarray) -> str:
    """Guess the task from a target column.

    Strings and booleans are class labels. Numbers are class labels when they are all whole numbers
    with at most :data:`MAX_INFERRED_CLASSES` distinct values (``0/1``, ``1..5``); anything else
    (fractions, or many distinct integers such as ages or prices) is a regression target. Pass
    ``task=`` explicitly when the guess is wrong.
    """
    values = np.asarray(values)
    if values.dtype.kind not in "iuf":
        return "classification"
    if values.ndim > 1 and values.shape[1] != 1:
        return "regression"
    flat = values.reshape(-1)
    if values.dtype.kind == "f" and not (np.isfinite(flat).all() and (flat == np.round(flat)).all()):
        return "regression"
    return "classification" if len(np.unique(flat)) <= MAX_INFERRED_CLASSES else "regression"


def _as_float32_target(name: str, values: np.ndarray) -> np.ndarray:
    """A regression target as float32; values too large for float32 are refused, not made inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        y = values.astype(np.float32)
    too_large = ~np.isfinite(y)
    if too_large.any():
        raise DataError(
            f"{name}: the target has {int(too_large.sum())} value(s) beyond the float32 range "
            f"(|y| > {np.finfo(np.float32).max:.3g}), e.g. {values[too_large][0].item():g}; "
            "rescale the target (e.g. change units or take a logarithm)"
        )
    return y


def encode_target(name: str, values: np.ndarray, task: str | None) -> tuple[np.ndarray, str, list[str]]:
    """Turn a raw target column into ``(y, task, classes)``; ``task=None`` infers it.

    Classification labels are encoded as indices into the sorted distinct values
    (``np.unique(..., return_inverse=True)``), so ``classes[y[i]]`` is the original value.
    """
    values = np.asarray(values)
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).sum())
        raise DataError(f"{name}: the target has {bad} missing (NaN) or infinite value(s); remove those rows")
    if task is None:
        task = infer_task(values)
    check_choice("dataset", "task", task, TASKS)
    if task == "regression":
        if values.dtype.kind not in "biuf":
            example = values.reshape(-1)[0].item()
            raise DataError(
                f"{name}: the target is not numeric (e.g. {example!r}); it cannot be a regression "
                "target (use task=classification)"
            )
        return _as_float32_target(name, values), task, []
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim != 1:
        raise DataError(f"{name}: class labels must have shape (N,), got {values.shape}")
    if values.dtype.kind == "f":
        fractional = values[values != np.round(values)]
        if len(fractional):
            raise DataError(
                f"{name}: the target has non-integer values (e.g. {fractional[0].item()!r}); "
                "they cannot be class labels (use task=regression)"
            )
    uniques, y = np.unique(values, return_inverse=True)
    if len(uniques) < 2:
        raise DataError(
            f"{name}: classification needs at least 2 classes, got 1: {_label_text(uniques[0])!r}; "
            "use a target with two or more distinct values"
        )
    return y.astype(np.int64).reshape(-1), task, [_label_text(u) for u in uniques]
