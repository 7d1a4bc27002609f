"""Synthetic toy problems, drawn from the generator passed to ``load`` (a seed fixes the data).

Each is a classic picture of what a network must learn: a linear model fails on all of them except
``blobs``, so they show hidden layers bending decision boundaries. All are written with NumPy on the
given :class:`numpy.random.Generator` (not scikit-learn's ``make_*``, whose randomness comes from a
legacy global-state generator), and shuffled at the end so samples are not ordered by class.

``n`` is always the *total* number of samples; classes get ``n // classes`` each, the first
``n % classes`` classes one more. The sizes are bounded before anything is drawn (a million
samples — 14× MNIST, plenty for a toy problem — 1,000 features, 1,000 classes), so a typo such as
``spiral:n=1000000000`` is one line instead of a process the kernel kills for its memory.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.registry import check_range
from .dataset import Dataset
from .registry import DATASETS, DatasetSource

MAX_SAMPLES = 1_000_000
MAX_FEATURES = 1_000
MAX_CLASSES = 1_000


def _class_positions(n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels for ``n`` samples split evenly over ``k`` classes, each sample's index within its
    class, and the class sizes: ``(labels, position, counts)``."""
    counts = np.full(k, n // k, dtype=np.int64)
    counts[: n % k] += 1
    labels = np.repeat(np.arange(k), counts)
    starts = np.cumsum(counts) - counts
    return labels, np.arange(n) - starts[labels], counts


def _finish(source: DatasetSource, X: np.ndarray, y: np.ndarray, rng: np.random.Generator, classes: int) -> Dataset:
    order = rng.permutation(len(X))
    return Dataset(
        X=X[order].astype(np.float32),
        y=y[order].astype(np.int64),
        task="classification",
        name=source.spec(),
        classes=[str(c) for c in range(classes)],
        feature_names=[f"x{j + 1}" for j in range(X.shape[1])],
    )


@DATASETS.register("spiral")
class Spiral(DatasetSource):
    """Interleaved spiral arms, one per class (the CS231n toy problem).

    Arm ``j`` has radius ``r`` running evenly over [0, 1] and angle ``t = 4j + 4r + noise·ε``
    (ε ~ N(0, 1)), giving points ``(r·sin t, r·cos t)``.
    """

    def __init__(self, classes: int = 3, n: int = 300, noise: float = 0.2):
        check_range("spiral", "classes", classes, 2, MAX_CLASSES)
        check_range("spiral", "n", n, classes, MAX_SAMPLES)
        check_range("spiral", "noise", noise, 0.0)
        self.classes, self.n, self.noise = classes, n, noise

    def load(self, rng: np.random.Generator) -> Dataset:
        labels, pos, counts = _class_positions(self.n, self.classes)
        r = pos / np.maximum(counts[labels] - 1, 1)
        t = 4.0 * labels + 4.0 * r + self.noise * rng.standard_normal(self.n)
        X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        return _finish(self, X, labels, rng, self.classes)


@DATASETS.register("moons")
class Moons(DatasetSource):
    """Two interleaving half circles, ``(cos πs, sin πs)`` and ``(1 − cos πs, ½ − sin πs)`` for s in
    [0, 1], plus Gaussian noise of standard deviation ``noise``."""

    def __init__(self, n: int = 500, noise: float = 0.1):
        check_range("moons", "n", n, 2, MAX_SAMPLES)
        check_range("moons", "noise", noise, 0.0)
        self.n, self.noise = n, noise

    def load(self, rng: np.random.Generator) -> Dataset:
        labels, pos, counts = _class_positions(self.n, 2)
        angle = math.pi * pos / np.maximum(counts[labels] - 1, 1)
        upper = labels == 0
        X = np.stack(
            [np.where(upper, np.cos(angle), 1.0 - np.cos(angle)), np.where(upper, np.sin(angle), 0.5 - np.sin(angle))],
            axis=1,
        )
        X += self.noise * rng.standard_normal(X.shape)
        return _finish(self, X, labels, rng, 2)


@DATASETS.register("circles")
class Circles(DatasetSource):
    """A circle of radius ``factor`` (class 1) inside one of radius 1 (class 0), plus Gaussian noise."""

    def __init__(self, n: int = 500, noise: float = 0.05, factor: float = 0.5):
        check_range("circles", "n", n, 2, MAX_SAMPLES)
        check_range("circles", "noise", noise, 0.0)
        check_range("circles", "factor", factor, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
        self.n, self.noise, self.factor = n, noise, factor

    def load(self, rng: np.random.Generator) -> Dataset:
        labels, pos, counts = _class_positions(self.n, 2)
        angle = 2.0 * math.pi * pos / counts[labels]
        radius = np.where(labels == 0, 1.0, self.factor)
        X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
        X += self.noise * rng.standard_normal(X.shape)
        return _finish(self, X, labels, rng, 2)


@DATASETS.register("xor")
class Xor(DatasetSource):
    """Gaussian clusters (std ``noise``) around the corners (±1, ±1), labelled by quadrant:
    ``y = (x1 > 0) XOR (x2 > 0)``, the classic problem a single-layer perceptron cannot solve.

    Labels follow each point's own signs, so they are exact even when noise pushes a point across an
    axis; ``noise`` makes the clusters blur into the boundary.
    """

    def __init__(self, n: int = 400, noise: float = 0.1):
        check_range("xor", "n", n, 4, MAX_SAMPLES)
        check_range("xor", "noise", noise, 0.0)
        self.n, self.noise = n, noise

    def load(self, rng: np.random.Generator) -> Dataset:
        corner = np.arange(self.n) % 4
        centers = np.stack([np.where(corner & 1, 1.0, -1.0), np.where(corner & 2, 1.0, -1.0)], axis=1)
        X = centers + self.noise * rng.standard_normal(centers.shape)
        y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
        return _finish(self, X, y, rng, 2)


@DATASETS.register("blobs")
class Blobs(DatasetSource):
    """Isotropic Gaussian clusters: class centres drawn uniformly from [−10, 10]^features, points
    ``centre + spread·ε``. Linearly separable when ``spread`` is small: a sanity check."""

    def __init__(self, n: int = 500, classes: int = 3, features: int = 2, spread: float = 1.0):
        check_range("blobs", "classes", classes, 2, MAX_CLASSES)
        check_range("blobs", "n", n, classes, MAX_SAMPLES)
        check_range("blobs", "features", features, 1, MAX_FEATURES)
        check_range("blobs", "spread", spread, 0.0)
        self.n, self.classes, self.features, self.spread = n, classes, features, spread

    def load(self, rng: np.random.Generator) -> Dataset:
        labels, _, _ = _class_positions(self.n, self.classes)
        centers = rng.uniform(-10.0, 10.0, size=(self.classes, self.features))
        X = centers[labels] + self.spread * rng.standard_normal((self.n, self.features))
        return _finish(self, X, labels, rng, self.classes)


@DATASETS.register("sine")
class Sine(DatasetSource):
    """Regression of ``y = sin(x) + noise·ε`` for x uniform on [−π, π] (X has shape (n, 1))."""

    task = "regression"

    def __init__(self, n: int = 500, noise: float = 0.1):
        check_range("sine", "n", n, 1, MAX_SAMPLES)
        check_range("sine", "noise", noise, 0.0)
        self.n, self.noise = n, noise

    def load(self, rng: np.random.Generator) -> Dataset:
        x = rng.uniform(-math.pi, math.pi, size=self.n)
        y = np.sin(x) + self.noise * rng.standard_normal(self.n)
        return Dataset(X=x[:, None], y=y, task="regression", name=self.spec(), feature_names=["x"])
