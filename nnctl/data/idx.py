"""The IDX file format (LeCun's MNIST format) and the MNIST / Fashion-MNIST loaders.

An IDX file is a 4-byte magic number, the dimensions, then the values in C order, all big-endian::

    bytes 0-1   zero
    byte  2     value type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    4·d bytes   each dimension as a big-endian uint32
    the data    prod(dims) values

Files are often distributed gzipped; both forms are read (gzip is recognised by a ``.gz`` suffix or
its magic bytes ``1f 8b``).
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from ..core.errors import DataError
from .catalog import AUTO, dataset_dir, not_fetched
from .dataset import Dataset
from .limits import MAX_IDX_DIMS, too_large
from .registry import DATASETS, DatasetSource

#: IDX type code -> big-endian NumPy dtype.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CODES = {np.dtype(v).newbyteorder("="): k for k, v in IDX_TYPES.items()}


class _Source:
    """An IDX file opened for reading, through gzip when it is compressed."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.raw = path.open("rb")
        except FileNotFoundError:
            raise DataError(f"IDX file '{path}' does not exist") from None
        except OSError as exc:
            raise DataError(f"cannot read IDX file '{path}': {exc.strerror or exc}") from None
        self.gz = path.suffix == ".gz" or self.raw.read(2) == b"\x1f\x8b"
        self.raw.seek(0)
        self.fh = gzip.GzipFile(fileobj=self.raw, mode="rb") if self.gz else self.raw

    def read(self, n: int = -1) -> bytes:
        try:
            return self.fh.read(n)
        except (OSError, EOFError, zlib.error) as exc:
            if self.gz:
                raise DataError(f"'{self.path}' is not a readable gzip file ({exc}); download it again") from None
            raise DataError(f"cannot read IDX file '{self.path}': {exc}") from None

    def count_rest(self, done: int) -> int:
        """``done`` plus the number of bytes left to read (read in blocks, not kept)."""
        while chunk := self.read(1 << 20):
            done += len(chunk)
        return done

    def close(self) -> None:
        if self.gz:
            self.fh.close()
        self.raw.close()


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a native-endian array of the stored type and shape.

    The header is checked against the file's size and the size limit (nnctl/data/limits.py) before
    the data is read, so a file that is not IDX, is truncated, or declares more than nnctl reads is
    refused without loading it; a gzipped file is decompressed only as far as its header declares.
    """
    path = Path(path)
    src = _Source(path)
    try:
        head = src.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0:
            raise DataError(
                f"'{path}' is not an IDX file: its magic number is {head[:4].hex() or 'missing'}, "
                "expected 0000 followed by a type code and the number of dimensions"
            )
        code, ndim = head[2], head[3]
        if code not in IDX_TYPES:
            valid = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
            raise DataError(f"'{path}': unknown IDX value type 0x{code:02X}; valid: {valid}")
        if not 1 <= ndim <= MAX_IDX_DIMS:
            raise DataError(
                f"'{path}': an IDX file of {ndim} dimensions is not read; expected 1 to {MAX_IDX_DIMS} "
                "(MNIST's images have 3, its labels 1)"
            )
        header = 4 + 4 * ndim
        head += src.read(4 * ndim)
        if len(head) < header:
            raise DataError(
                f"'{path}' is truncated: its header needs {header} bytes for {ndim} dimensions, "
                f"the file has {len(head)}"
            )
        dims = tuple(int(d) for d in np.frombuffer(head, dtype=">u4", count=ndim, offset=4))
        dtype = np.dtype(IDX_TYPES[code])
        nbytes = math.prod(dims) * dtype.itemsize
        message = too_large(f"'{path}'", f"shape {dims} of {dtype.newbyteorder('=').name}", nbytes)
        if message:  # before anything is read: a gzipped file's data is decompressed only up to here
            raise DataError(message)
        expected = header + nbytes
        if src.gz:  # the decompressed size is only known by reading
            data = src.read(nbytes)
            size = header + len(data)
            if len(data) == nbytes and src.read(1):
                size = src.count_rest(expected + 1)
        else:  # checked before anything is read
            size = path.stat().st_size
            data = src.read(nbytes) if size == expected else b""
        if size != expected:
            state = "truncated" if size < expected else "longer than its header says"
            raise DataError(
                f"'{path}' is {state}: shape {dims} of {dtype.newbyteorder('=').name} needs "
                f"{expected} bytes, the file has {size}; download it again"
            )
    finally:
        src.close()
    values = np.frombuffer(data, dtype=dtype).reshape(dims)
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzipped when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        valid = ", ".join(np.dtype(v).newbyteorder("=").name for v in IDX_TYPES.values())
        raise DataError(f"cannot write dtype {array.dtype} as IDX; supported: {valid}")
    if array.ndim > 255:
        raise DataError(f"IDX stores at most 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    if path.suffix == ".gz":
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)


# --- MNIST-style datasets ---------------------------------------------------------------------------

#: The four files of an MNIST-style dataset, in the order (train images, train labels, test ...).
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _find(directory: Path, base: str) -> Path | None:
    """The file for ``base`` in ``directory``: plain or ``.gz``, with '-' or '.' before ``idx``."""
    dotted = base.replace("-idx", ".idx")
    for name in (base, base + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


class _IdxImages(DatasetSource):
    """Shared loader for the four-file IDX image datasets (MNIST and its drop-in replacements).

    ``path`` is a folder holding the four files, or ``auto`` (the default): the dataset's folder in
    nnctl's cache, where ``nnctl data fetch NAME`` puts them (:mod:`nnctl.data.catalog`).
    Subclasses set ``class_names``.
    """

    class_names: tuple[str, ...] = tuple(str(d) for d in range(10))

    def __init__(self, path: str = AUTO):
        self.path = path

    def load(self, rng: np.random.Generator) -> Dataset:
        auto = self.path == AUTO
        directory = dataset_dir(self.name) if auto else Path(self.path).expanduser()
        where = f"'{directory}'"
        found = [_find(directory, base) for base in IDX_FILES]
        if not all(found):
            expected = ", ".join(f"{b}(.gz)" for b in IDX_FILES)
            if auto:
                raise DataError(not_fetched(self.name, expected))
            missing = [f"{base}(.gz)" for base, f in zip(IDX_FILES, found) if f is None]
            if not directory.is_dir():
                problem = f"directory {where} does not exist"
            elif len(missing) == len(IDX_FILES):
                problem = f"no IDX files in {where}"
            else:
                problem = f"missing {', '.join(missing)} in {where}"
            raise DataError(
                f"{self.name}: {problem}; expected {expected} - put them there, or run "
                f"'nnctl data fetch {self.name}' and use --data {self.name} without a path"
            )
        train_x, train_y, test_x, test_y = (read_idx(f) for f in found)
        pairs = ((train_x, train_y, "train", found[:2]), (test_x, test_y, "t10k", found[2:]))
        for images, labels, part, files in pairs:
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise DataError(
                    f"{self.name}: {part} images have shape {images.shape} and labels {labels.shape}; "
                    f"expected (N, H, W) images and N labels (files '{files[0]}' and '{files[1]}')"
                )
        if train_x.shape[1:] != test_x.shape[1:]:
            raise DataError(f"{self.name}: train images are {train_x.shape[1:]} but t10k images {test_x.shape[1:]}")
        X = np.concatenate([train_x, test_x])[:, None].astype(np.float32)
        if train_x.dtype == np.uint8:
            X /= 255.0
        return Dataset(
            X=X,
            y=np.concatenate([train_y, test_y]).astype(np.int64),
            task="classification",
            name=self.spec(),
            classes=list(self.class_names),
            source_dtype=str(train_x.dtype),
        )


@DATASETS.register("mnist")
class Mnist(_IdxImages):
    """MNIST handwritten digits, (70000, 1, 28, 28) in [0, 1]; path=auto: the cache (nnctl data fetch mnist).

    ``path`` is a folder holding the four IDX files, or ``auto``: nnctl's download cache.

    The 60,000 training and 10,000 test images are returned together as one dataset of shape
    (70000, 1, 28, 28), uint8 pixels divided by 255 to lie in [0, 1];
    :func:`~nnctl.data.split.split_dataset` then draws the train/validation/test splits from all of
    them, the same way as for every other dataset.
    """


@DATASETS.register("fashion_mnist", "fashion")
class FashionMnist(_IdxImages):
    """Fashion-MNIST clothing, (70000, 1, 28, 28) in [0, 1]; path=auto: the cache (nnctl data fetch fashion_mnist).

    Same layout and treatment as ``mnist``: (70000, 1, 28, 28) in [0, 1], ten classes.
    """

    class_names = (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
