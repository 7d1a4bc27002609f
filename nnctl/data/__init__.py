"""Datasets: the registry of named datasets, file loaders, splits and standardization.

Typical use::

    ds = load_dataset("spiral:classes=5,n=600", seed=0)
    splits = split_dataset(ds, val_split=0.1, test_split=0.2, seed=0)

Importing this package registers every bundled, synthetic, IDX and CIFAR dataset in :data:`DATASETS`;
the ones that are downloaded once (MNIST, Fashion-MNIST, CIFAR-10) are described in
:mod:`nnctl.data.catalog` and fetched by :mod:`nnctl.data.fetch`.
"""

from . import builtin, cifar, idx, synthetic  # noqa: F401  (register the datasets)
from .dataset import MAX_INFERRED_CLASSES, TASKS, Dataset, encode_target, infer_task
from .files import load_csv, load_file, load_npz
from .idx import read_idx, write_idx
from .load import is_file_spec, load_dataset
from .registry import DATASETS, DatasetSource
from .split import Splits, Standardizer, split_dataset

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetSource",
    "MAX_INFERRED_CLASSES",
    "Splits",
    "Standardizer",
    "TASKS",
    "encode_target",
    "infer_task",
    "is_file_spec",
    "load_csv",
    "load_dataset",
    "load_file",
    "load_npz",
    "read_idx",
    "split_dataset",
    "write_idx",
]
