"""Applying an augmentation pipeline to training batches, mixup included.

Mixup (Zhang et al. 2018) mixes targets as well as inputs: class labels become one-hot rows mixed
with the same λ, which the cross-entropy loss accepts as soft targets. Training accuracy is still
counted against each sample's own (unmixed) label.
"""

from __future__ import annotations

import numpy as np


class BatchAugmenter:
    """Callable ``(xb, yb, rng) -> (augmented xb, loss targets)`` for one training batch."""

    def __init__(self, pipeline, task: str, n_classes: int, dtype: np.dtype):
        self.pipeline = pipeline
        self.classification = task == "classification"
        self.n_classes = int(n_classes)
        self.dtype = np.dtype(dtype)

    def spec(self) -> str:
        return self.pipeline.spec()

    def __call__(self, xb: np.ndarray, yb: np.ndarray, rng: np.random.Generator):
        if not self.pipeline.mixes_labels:
            return self.pipeline(xb, rng), yb
        if self.classification:
            onehot = np.zeros((len(yb), self.n_classes), dtype=self.dtype)
            onehot[np.arange(len(yb)), yb] = 1
            return self.pipeline.apply(xb, onehot, rng)
        return self.pipeline.apply(xb, yb.astype(self.dtype, copy=False), rng)
