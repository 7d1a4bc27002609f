"""One entry point for every dataset: :func:`load_dataset`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError
from ..core.registry import check_choice
from .dataset import TASKS, Dataset
from .files import SUFFIXES, load_file
from .registry import DATASETS


def is_file_spec(spec: str) -> bool:
    """True when ``spec`` names a file rather than a registered dataset.

    A spec whose name part (before ``:``) is a registered dataset is always a dataset spec, so
    ``mnist:path=data/mnist`` is not a path. Otherwise a spec is a path when it ends in a known
    suffix, contains a path separator, or is an existing file.
    """
    head = spec.partition(":")[0].strip().lower().replace("-", "_")
    if head in DATASETS:
        return False
    if spec.lower().endswith(SUFFIXES) or "/" in spec or os.sep in spec:
        return True
    try:
        return Path(spec).is_file()
    except (OSError, ValueError):  # a name too long for the file system, or holding a NUL byte
        return False


def load_dataset(spec: str, *, seed: int = 0, target: str | None = None, task: str | None = None) -> Dataset:
    """Load a dataset from a registry spec (``digits``, ``spiral:classes=5,n=600``) or a file path.

    ``seed`` fixes synthetic data (a generator ``np.random.default_rng(seed)`` is passed to the
    source). ``target`` names the CSV target column (or the NPZ label array) and ``task`` overrides
    the inferred task; both apply to files only, since a named dataset has a fixed target and task.
    """
    if task is not None:
        check_choice("dataset", "task", task, TASKS)
    if is_file_spec(spec):
        return load_file(spec, target=target, task=task)
    source = DATASETS.get(spec)
    if target is not None:
        raise ConfigError(
            f"dataset '{source.name}': target={target} is not allowed; a target column applies "
            "only to .csv and .npz files"
        )
    if task is not None and task != source.task:
        raise ConfigError(
            f"dataset '{source.name}': task={task} is not allowed; it is a {source.task} dataset "
            "(task applies to .csv and .npz files)"
        )
    return source.load(np.random.default_rng(seed))
