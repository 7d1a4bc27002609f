"""Train / validation / test splits and input standardization.

Splitting
    A permutation from ``np.random.default_rng(seed)`` decides which samples go where, so the same
    seed gives the same split on every machine. For classification the split is *stratified*: each
    class is divided on its own, so every split keeps the class proportions and small classes still
    appear in each split (a class gets at least one sample in every requested split when it has
    enough samples; training always keeps at least one). Counts are rounded to the nearest whole
    sample per class, so totals can differ from the fractions by about one sample per class.

Standardization
    ``x' = (x − μ) / σ`` with μ, σ the mean and (population) standard deviation of the *training*
    split only: using validation or test statistics would leak information about the held-out data
    into training, and the held-out scores would be optimistic. Tabular data is standardized per
    feature; images per channel (statistics over samples, height and width, as
    ``torchvision.transforms.Normalize`` expects). A constant feature or channel (σ = 0, such as
    the always-blank border pixels of digit images) gets σ = 1 and μ = its value, so it becomes 0
    rather than NaN. Features too large to square in float32 (|x − μ| > 1.8e19) get their σ from a
    float64 pass, so they are scaled, not zeroed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import ConfigError, DataError, ShapeError
from ..core.registry import check_range
from .dataset import Dataset


@dataclass
class Standardizer:
    """Per-feature (tabular) or per-channel (images) ``(x − mean) / std``, fitted on training data."""

    mean: np.ndarray
    std: np.ndarray
    per: str = "feature"  # "feature" for (N, F) data, "channel" for (N, C, ...) data

    @classmethod
    def fit(cls, X: np.ndarray) -> Standardizer:
        """Statistics of ``X`` (accumulated in float64); constant columns get std 1."""
        X = np.asarray(X)
        if X.dtype.kind != "f":
            X = X.astype(np.float32)
        if len(X) == 0:
            raise DataError("cannot fit a standardizer on an empty training set")
        axes = (0,) if X.ndim == 2 else (0, *range(2, X.ndim))
        mean = X.mean(axis=axes, dtype=np.float64)
        shape = (-1,) + (1,) * (X.ndim - 2)
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is redone in float64 below
            centered = X - mean.reshape(shape).astype(X.dtype)  # two-pass variance, no float64 copy
            std = np.sqrt(np.mean(np.square(centered, out=centered), axis=axes, dtype=np.float64))
        overflow = np.flatnonzero(~np.isfinite(std))
        if len(overflow):  # |x − μ| beyond √(float max) ≈ 1.8e19 in float32: square in float64
            part = np.take(X, overflow, axis=1).astype(np.float64)
            std[overflow] = part.std(axis=axes)
        low = X.min(axis=axes).astype(np.float64)
        constant = X.max(axis=axes) == low
        return cls(
            mean=np.where(constant, low, mean),
            std=np.where(constant, 1.0, std),
            per="feature" if X.ndim == 2 else "channel",
        )

    def _broadcast(self, a: np.ndarray, ndim: int) -> np.ndarray:
        return a.reshape((-1,) + (1,) * (ndim - 2)).astype(np.float32)

    def transform(self, X: np.ndarray, *, inplace: bool = False) -> np.ndarray:
        """Standardized float32 copy of ``X`` (shape unchanged); ``inplace`` overwrites a float32 ``X``
        instead, saving a copy of a large dataset."""
        X = np.asarray(X)
        want = "feature" if X.ndim == 2 else "channel"
        if X.ndim < 2 or want != self.per or X.shape[1] != len(self.mean):
            raise ShapeError(
                f"standardizer fitted per {self.per} on {len(self.mean)} {self.per}s cannot "
                f"transform data of shape {X.shape}"
            )
        out = X if inplace and X.dtype == np.float32 else X.astype(np.float32)
        out -= self._broadcast(self.mean, X.ndim)
        out /= self._broadcast(self.std, X.ndim)
        return out

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform` (e.g. to display standardized images), as float32."""
        X = np.asarray(X)
        return (X * self._broadcast(self.std, X.ndim) + self._broadcast(self.mean, X.ndim)).astype(
            np.float32, copy=False
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for saving in a run's config."""
        return {"per": self.per, "mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        """Rebuild from :meth:`to_dict` output."""
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            std = np.asarray(data["std"], dtype=np.float64)
            per = data.get("per", "feature")
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"invalid standardizer record {data!r}: {exc}") from None
        valid = mean.ndim == 1 and mean.shape == std.shape and per in ("feature", "channel")
        if not valid or (std <= 0).any():
            raise ConfigError(
                f"invalid standardizer record: mean {mean.shape}, std {std.shape}, per={per!r}; "
                "expected equal-length lists, positive std, per 'feature' or 'channel'"
            )
        return cls(mean=mean, std=std, per=per)


@dataclass
class Splits:
    """The three splits (validation and test may be empty, keeping their trailing shapes)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    standardizer: Standardizer | None = None
    #: Row indices into the original dataset, so a split can be reported or rebuilt.
    train_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    val_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    test_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.X_train), "val": len(self.X_val), "test": len(self.X_test)}


def _counts(n: int, val: float, test: float) -> tuple[int, int]:
    """(n_val, n_test) for ``n`` samples: rounded, at least 1 when requested, leaving ≥ 1 for training
    (the validation set gives way first)."""
    n_test = math.floor(test * n + 0.5)
    n_val = math.floor(val * n + 0.5)
    if test > 0:
        n_test = max(n_test, 1)
    if val > 0:
        n_val = max(n_val, 1)
    over = n_test + n_val - (n - 1)
    if over > 0:
        cut = min(over, n_val)
        n_val -= cut
        n_test -= over - cut
    return n_val, n_test


def _partition(y: np.ndarray | None, n: int, val: float, test: float, rng: np.random.Generator):
    """Index arrays (train, val, test); stratified by the labels ``y`` when given."""
    order = rng.permutation(n)
    if y is None:
        n_val, n_test = _counts(n, val, test)
        return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]
    order = order[np.argsort(y[order], kind="stable")]  # grouped by class, shuffled within
    counts = np.bincount(y)
    starts = np.cumsum(counts) - counts
    parts: tuple[list, list, list] = ([], [], [])
    for start, count in zip(starts, counts):
        if count == 0:
            continue
        n_val, n_test = _counts(int(count), val, test)
        group = order[start : start + count]
        parts[2].append(group[:n_test])
        parts[1].append(group[n_test : n_test + n_val])
        parts[0].append(group[n_test + n_val :])
    return tuple(rng.permutation(np.concatenate(p)) for p in parts)


def _subset(
    train: np.ndarray, labels: np.ndarray | None, size: float, rng: np.random.Generator, name: str
) -> np.ndarray:
    """``size`` samples (or that fraction) of the training indices ``train``, stratified by class."""
    n = len(train)
    count = size * n if size < 1 else size
    if size <= 0 or (size >= 1 and (not float(size).is_integer() or size > n)):
        raise ConfigError(
            f"{name}: train_size={size:g} is not allowed; expected a fraction 0 < f < 1 or a number "
            f"of samples from 1 to the {n} of the training split"
        )
    total = max(1, round(count))
    if labels is None:
        return rng.permutation(train)[:total]
    y = labels[train]
    classes, sizes = np.unique(y, return_counts=True)
    quota = sizes * total / n  # each class's share, then the largest remainders get the leftover
    take = np.floor(quota).astype(int)
    for i in np.argsort(take - quota, kind="stable")[: total - int(take.sum())]:
        take[i] += 1
    kept = [rng.permutation(train[y == c])[:k] for c, k in zip(classes, take)]
    return rng.permutation(np.concatenate(kept))


def split_dataset(
    ds: Dataset,
    val_split: float = 0.1,
    test_split: float = 0.2,
    seed: int = 0,
    stratify: bool = True,
    standardize: bool = True,
    train_size: float | None = None,
) -> Splits:
    """Split ``ds`` into train / validation / test (see the module docstring).

    ``val_split`` and ``test_split`` are fractions in [0, 1) with a sum below 1; 0 gives an empty
    split. ``train_size`` keeps only part of the training split — a number of samples (≥ 1) or a
    fraction (< 1), drawn from the seed and stratified like the split — while validation and test
    stay as they are: the lecture's overfitting demonstration on a few hundred samples. With
    ``standardize`` the inputs of all three splits are standardized with statistics of the
    (remaining) training split, and the fitted :class:`Standardizer` is returned with them.
    """
    check_range("split", "val_split", val_split, 0.0, 1.0, high_inclusive=False)
    check_range("split", "test_split", test_split, 0.0, 1.0, high_inclusive=False)
    if val_split + test_split >= 1.0:
        raise ConfigError(
            f"split: val_split + test_split = {val_split + test_split:g} leaves no training data; "
            "allowed: val_split + test_split < 1"
        )
    n = len(ds)
    labels = ds.y if ds.task == "classification" and stratify else None
    train, val, test = _partition(labels, n, val_split, test_split, np.random.default_rng(seed))
    sizes = f"{n} samples give train {len(train)}, val {len(val)}, test {len(test)}"
    for what, fraction, part in (("val_split", val_split, val), ("test_split", test_split, test)):
        if fraction > 0 and len(part) == 0:
            raise DataError(f"{ds.name}: too few samples for {what}={fraction:g}: {sizes}; use more data or {what}=0")
    if ds.task == "classification":
        absent = (ds.class_counts() > 0) & (np.bincount(ds.y[train], minlength=ds.n_classes) == 0)
        if absent.any():
            names = ", ".join(repr(ds.classes[c]) for c in np.flatnonzero(absent))
            raise DataError(
                f"{ds.name}: class(es) {names} have no training samples ({sizes}); use stratify=true or more data"
            )
    if train_size is not None:
        train = _subset(train, labels, train_size, np.random.default_rng([seed, 1]), ds.name)
    X_train, X_val, X_test = ds.X[train], ds.X[val], ds.X[test]
    scaler = None
    if standardize:
        scaler = Standardizer.fit(X_train)
        X_train, X_val, X_test = (scaler.transform(a, inplace=True) for a in (X_train, X_val, X_test))
    return Splits(
        X_train=X_train,
        y_train=ds.y[train],
        X_val=X_val,
        y_val=ds.y[val],
        X_test=X_test,
        y_test=ds.y[test],
        standardizer=scaler,
        train_index=train,
        val_index=val,
        test_index=test,
    )
