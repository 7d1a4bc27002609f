"""CIFAR-10 from its binary distribution, ``cifar-10-binary.tar.gz`` (never the pickled one).

The archive holds a folder ``cifar-10-batches-bin/`` with six batches and a list of class names::

    data_batch_1.bin ... data_batch_5.bin   10,000 training images each
    test_batch.bin                          10,000 test images
    batches.meta.txt                        the ten class names, one per line

Each batch is a run of records of 3,073 bytes: one label byte (0-9), then the 32x32 image as 1,024
red, 1,024 green and 1,024 blue bytes, each plane row by row. So a batch reads straight into an
(n, 3073) uint8 array, whose columns 1: reshape to channels-first images (n, 3, 32, 32).

The members are read straight out of the archive (a gzip stream, decompressed once per load; about a
second for the full set), so nothing is extracted and no name in the archive ever becomes a path on
disk. Only regular files of the expected names are read; a link, a duplicate, or a member whose size
is not a whole number of records (or larger than a batch can be) is refused before it is read.
A folder holding the ``.bin`` files, extracted by hand, works too.

As for MNIST (:mod:`nnctl.data.idx`), the 50,000 training and 10,000 test images come back together,
training batches first, pixels divided by 255 to lie in [0, 1]; the splits are drawn from all of them.
"""

from __future__ import annotations

import zlib
from pathlib import Path, PurePosixPath

import numpy as np

from ..core.errors import DataError
from .catalog import AUTO, dataset_dir, not_fetched
from .dataset import Dataset
from .registry import DATASETS, DatasetSource

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
BATCHES = tuple(f"data_batch_{i}.bin" for i in range(1, 6)) + ("test_batch.bin",)
META = "batches.meta.txt"
RECORD = 1 + 3 * 32 * 32
#: Records in one batch of the real distribution: a larger member is refused unread.
MAX_RECORDS = 10_000
MAX_META = 64 * 1024
EXPECTED = f"{ARCHIVE}, or {', '.join(BATCHES[:1])} ... {BATCHES[-2]}, {BATCHES[-1]} and {META}"


def _check_size(origin: str, name: str, size: int) -> None:
    limit = MAX_META if name == META else MAX_RECORDS * RECORD
    if name != META and (size == 0 or size % RECORD):
        raise DataError(
            f"'{origin}': {name} has {size} bytes, not a whole number of {RECORD}-byte records "
            "(1 label byte + 3072 pixel bytes); the file is truncated or not CIFAR-10 binary: download it again"
        )
    if size > limit:
        raise DataError(f"'{origin}': {name} has {size} bytes, more than the {limit} it can have")


def _from_archive(path: Path) -> dict[str, bytes]:
    """The wanted members of the archive at ``path``, by file name."""
    import tarfile  # only when an archive is read

    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r|gz") as tar:  # a stream: each member is read as it passes
            for member in tar:
                parts = PurePosixPath(member.name).parts
                name = parts[-1] if parts else ""
                if name not in BATCHES + (META,) or parts[:-1] not in ((), (FOLDER,)):
                    continue
                if not member.isreg():
                    raise DataError(
                        f"'{path}': member '{member.name}' is a link or special file, not a regular file; "
                        "it is not read (the archive is not the CIFAR-10 binary distribution)"
                    )
                if name in found:
                    raise DataError(f"'{path}' holds {name} twice; expected each member once")
                _check_size(str(path), name, member.size)
                fh = tar.extractfile(member)
                found[name] = fh.read() if fh is not None else b""
                if len(found[name]) != member.size:
                    raise DataError(f"'{path}' is truncated inside {name}; download it again")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise DataError(f"CIFAR-10 archive '{path}' does not exist") from None
        raise DataError(
            f"'{path}' is not a readable .tar.gz archive ({exc or type(exc).__name__}); download it again"
        ) from None
    return found


def _from_folder(directory: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for name in BATCHES + (META,):
        path = directory / name
        if path.is_file() and not path.is_symlink():
            _check_size(str(path), name, path.stat().st_size)
            found[name] = path.read_bytes()
    return found


def read_cifar(members: dict[str, bytes], origin: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(images float32 (N, 3, 32, 32) in [0, 1], labels int64, class names)`` from the members."""
    missing = [n for n in BATCHES + (META,) if n not in members]
    if missing:
        raise DataError(f"'{origin}' lacks {', '.join(missing)}; expected {EXPECTED}")
    try:
        classes = [line.strip() for line in members[META].decode("ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise DataError(f"'{origin}': {META} is not ASCII text; expected one class name per line") from None
    records = [np.frombuffer(members[n], dtype=np.uint8).reshape(-1, RECORD) for n in BATCHES]
    n = sum(len(r) for r in records)
    X = np.empty((n, 3 * 32 * 32), dtype=np.float32)
    y = np.empty(n, dtype=np.int64)
    start = 0
    for name, batch in zip(BATCHES, records):
        stop = start + len(batch)
        X[start:stop] = batch[:, 1:]
        y[start:stop] = batch[:, 0]
        start = stop
        if batch[:, 0].max() >= len(classes):
            raise DataError(
                f"'{origin}': {name} has label {int(batch[:, 0].max())} but {META} names "
                f"{len(classes)} classes; expected labels 0..{len(classes) - 1}"
            )
    X /= 255.0
    return X.reshape(n, 3, 32, 32), y, classes


@DATASETS.register("cifar10", "cifar_10")
class Cifar10(DatasetSource):
    """CIFAR-10 colour images, (60000, 3, 32, 32) in [0, 1]; path=auto: the cache (nnctl data fetch cifar10).

    ``path`` is a folder holding ``cifar-10-binary.tar.gz`` or the extracted ``.bin`` files (also in
    a ``cifar-10-batches-bin`` subfolder), or ``auto`` (the default): nnctl's cache, filled by
    ``nnctl data fetch cifar10``.
    """

    def __init__(self, path: str = AUTO):
        self.path = path

    def load(self, rng: np.random.Generator) -> Dataset:
        auto = self.path == AUTO
        directory = dataset_dir(self.name) if auto else Path(self.path).expanduser()
        if (directory / ARCHIVE).is_file():
            origin = directory / ARCHIVE
            members = _from_archive(origin)
        elif auto:
            raise DataError(not_fetched(self.name, EXPECTED))
        elif not directory.is_dir():
            raise DataError(f"{self.name}: directory '{directory}' does not exist; expected a folder with {EXPECTED}")
        else:
            folder = directory / FOLDER if (directory / FOLDER).is_dir() else directory
            origin = folder
            members = _from_folder(folder)
            if not members:
                raise DataError(
                    f"{self.name}: no CIFAR-10 files in '{directory}'; expected {EXPECTED} - put them "
                    f"there, or run 'nnctl data fetch {self.name}' and use --data {self.name} without a path"
                )
        X, y, classes = read_cifar(members, str(origin))
        return Dataset(X=X, y=y, task="classification", name=self.spec(), classes=classes, source_dtype="uint8")
