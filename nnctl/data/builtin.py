"""Small real datasets bundled with scikit-learn (no download needed).

These are the classic quick benchmarks: each loads in milliseconds, so they suit experiments that
train hundreds of networks. Values are returned unscaled; :class:`~nnctl.data.split.Standardizer`
rescales them using statistics of the training split only.
"""

from __future__ import annotations

import numpy as np
from sklearn import datasets as skdatasets

from .dataset import Dataset
from .registry import DATASETS, DatasetSource


def _from_bunch(name: str, bunch, *, image_shape: tuple[int, ...] | None = None) -> Dataset:
    X = np.asarray(bunch.data, dtype=np.float32)
    if image_shape is not None:
        X = X.reshape((len(X), *image_shape))
    return Dataset(
        X=X,
        y=np.asarray(bunch.target, dtype=np.int64),
        task="classification",
        name=name,
        classes=[str(c) for c in bunch.target_names],
        feature_names=None if image_shape else [str(f) for f in bunch.feature_names],
    )


@DATASETS.register("digits")
class Digits(DatasetSource):
    """Handwritten digits 0-9, 1797 images of 1x8x8 with raw pixel values 0..16 (scikit-learn)."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _from_bunch(self.spec(), skdatasets.load_digits(), image_shape=(1, 8, 8))


@DATASETS.register("iris")
class Iris(DatasetSource):
    """Fisher's iris flowers: 150 samples, 4 measurements (cm), 3 species."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _from_bunch(self.spec(), skdatasets.load_iris())


@DATASETS.register("wine")
class Wine(DatasetSource):
    """Wine cultivars: 178 samples, 13 chemical measurements on very different scales, 3 classes."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _from_bunch(self.spec(), skdatasets.load_wine())


@DATASETS.register("breast_cancer", "cancer")
class BreastCancer(DatasetSource):
    """Wisconsin breast-cancer diagnosis: 569 samples, 30 features, malignant vs benign."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _from_bunch(self.spec(), skdatasets.load_breast_cancer())
