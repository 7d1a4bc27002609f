"""Four small real datasets that ship inside nnctl (no download, no scikit-learn needed).

These are the classic quick benchmarks: each loads in milliseconds, so they suit experiments that
train hundreds of networks. The files in ``nnctl/data/bundled/`` are scikit-learn's own copies
(``bundled/SOURCES.md`` gives their origin, licence and checksums), read here with NumPy alone, so
the arrays, class names and feature names are exactly those of ``sklearn.datasets.load_*``.

Each file is gzipped CSV. ``iris``, ``wine`` and ``breast_cancer`` start with a header line
``n_samples,n_features,class_0_name,class_1_name,...``; ``digits`` has none. Every row is the
features, then the integer label. Values are parsed as float64 (as scikit-learn does), then stored as
float32, unscaled; :class:`~nnctl.data.split.Standardizer` rescales them using statistics of the
training split only.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from ..core.errors import DataError
from .dataset import Dataset
from .registry import DATASETS, DatasetSource

BUNDLED = Path(__file__).with_name("bundled")

_MEASURES = (
    "radius",
    "texture",
    "perimeter",
    "area",
    "smoothness",
    "compactness",
    "concavity",
    "concave points",
    "symmetry",
    "fractal dimension",
)
FEATURE_NAMES = {
    "iris": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"],
    "wine": [
        "alcohol",
        "malic_acid",
        "ash",
        "alcalinity_of_ash",
        "magnesium",
        "total_phenols",
        "flavanoids",
        "nonflavanoid_phenols",
        "proanthocyanins",
        "color_intensity",
        "hue",
        "od280/od315_of_diluted_wines",
        "proline",
    ],
    # ten measurements of each cell nucleus: their mean, standard error and worst (largest) value
    "breast_cancer": [f"mean {m}" for m in _MEASURES]
    + [f"{m} error" for m in _MEASURES]
    + [f"worst {m}" for m in _MEASURES],
}


def bundled_files() -> dict[str, Path]:
    """The file behind each bundled dataset, by dataset name."""
    return {name: BUNDLED / f"{name}.csv.gz" for name in ("digits", "iris", "wine", "breast_cancer")}


def read_bundled(name: str, *, header: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(X float64, y int64, class names)`` of ``bundled/<name>.csv.gz``.

    Without a header line the class names are the label values ``"0"``, ``"1"``, ...
    """
    path = BUNDLED / f"{name}.csv.gz"
    try:
        text = gzip.decompress(path.read_bytes()).decode("ascii")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as exc:
        raise DataError(f"bundled dataset file '{path}' cannot be read ({exc}); reinstall nnctl") from None
    first, _, body = text.partition("\n") if header else ("", "", text)
    data = np.loadtxt(io.StringIO(body), delimiter=",", dtype=np.float64, ndmin=2)
    X, y = data[:, :-1], data[:, -1].astype(np.int64)
    if header:
        n, features, *classes = first.strip().split(",")
        if (len(X), X.shape[1]) != (int(n), int(features)):
            raise DataError(
                f"bundled dataset file '{path}' holds {X.shape} values but its header says "
                f"({n}, {features}); reinstall nnctl"
            )
    else:
        classes = [str(c) for c in range(int(y.max()) + 1)]
    return X, y, classes


def _table(source: DatasetSource, file: str) -> Dataset:
    X, y, classes = read_bundled(file)
    return Dataset(
        X=X.astype(np.float32),
        y=y,
        task="classification",
        name=source.spec(),
        classes=classes,
        feature_names=list(FEATURE_NAMES[file]),
    )


@DATASETS.register("digits")
class Digits(DatasetSource):
    """Handwritten digits 0-9, 1797 images of 1x8x8 with raw pixel values 0..16 (UCI, via scikit-learn)."""

    def load(self, rng: np.random.Generator) -> Dataset:
        X, y, classes = read_bundled("digits", header=False)
        return Dataset(
            X=X.astype(np.float32).reshape(len(X), 1, 8, 8),
            y=y,
            task="classification",
            name=self.spec(),
            classes=classes,
        )


@DATASETS.register("iris")
class Iris(DatasetSource):
    """Fisher's iris flowers: 150 samples, 4 measurements (cm), 3 species."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _table(self, "iris")


@DATASETS.register("wine")
class Wine(DatasetSource):
    """Wine cultivars: 178 samples, 13 chemical measurements on very different scales, 3 classes."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _table(self, "wine")


@DATASETS.register("breast_cancer", "cancer")
class BreastCancer(DatasetSource):
    """Wisconsin breast-cancer diagnosis: 569 samples, 30 features, malignant vs benign."""

    def load(self, rng: np.random.Generator) -> Dataset:
        return _table(self, "breast_cancer")
