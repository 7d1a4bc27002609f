"""The dataset registry: every named dataset is a component with a ``load(rng)`` method.

A dataset spec is a registry spec string, exactly like an optimizer's::

    digits                          -> the bundled 8x8 handwritten digits
    spiral:classes=5,n=600,noise=0.3
    mnist:path=data/mnist           -> MNIST from a folder (default path=auto: the download cache)

Hyperparameters (sizes, noise levels, paths) are the ``__init__`` keywords of the source class, so
``DATASETS.get(source.spec())`` rebuilds the same source and, given the same seed, the same data.
"""

from __future__ import annotations

import numpy as np

from ..core.registry import Component, Registry
from .dataset import Dataset

DATASETS = Registry("dataset")


class DatasetSource(Component):
    """Base of registered datasets: ``load(rng)`` returns a :class:`Dataset`.

    Synthetic sources draw every random number from ``rng`` (so a seed fixes the data); builtin and
    file-backed sources ignore it.
    """

    kind = "dataset"
    #: "classification" or "regression"; what ``load`` returns.
    task = "classification"

    def load(self, rng: np.random.Generator) -> Dataset:  # pragma: no cover - interface
        raise NotImplementedError
