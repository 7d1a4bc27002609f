"""The datasets nnctl can download, what their files must be, and where they are kept.

``nnctl data fetch NAME`` (:mod:`nnctl.data.fetch`) downloads a dataset once into the **cache**, one
folder per dataset::

    $NNCTL_DATA/<name>/                    when NNCTL_DATA is set
    $XDG_CACHE_HOME/nnctl/data/<name>/     else, when XDG_CACHE_HOME is set
    ~/.cache/nnctl/data/<name>/            else

and the loaders (``--data mnist`` with no ``path``, or ``path=auto``) read it from there. A file
counts as fetched only once its SHA-256 matched the table below, so what is in the cache is the
published file, byte for byte. This module knows nothing of the network: importing it is cheap, and
:func:`cache_status` only looks at the disk.

The table (:data:`CATALOG`) is plain data; tests replace an entry (``monkeypatch.setitem``) to point
it at small files they serve themselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ConfigError, suggestion

#: The ``path`` value that means "the cache folder of this dataset".
AUTO = "auto"
#: The suffix of a download in progress; the file is renamed without it once its checksum matches.
PART = ".part"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name on the mirror and in the cache, its size and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RemoteDataset:
    """A downloadable dataset: its files and the mirrors (folder URLs) that serve them, in order."""

    name: str
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]
    homepage: str

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


_IDX = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)

CATALOG: dict[str, RemoteDataset] = {
    # Sizes and SHA-256 from tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt (the
    # same files as LeCun's original site; torchvision's MNIST.resources gives their MD5s:
    # f68b3c2dcbeaaa9fbdd348bbdeb94873, d53e105ee54ea40749a09fcbcd1e9432,
    # 9fb629c4189551a2d022fa330f9573f3, ec29112dd5afa0611ce80d1b7f02629c). The first mirror is the
    # one torchvision downloads from (torchvision/datasets/mnist.py, MNIST.mirrors), the second the
    # one tensorflow-datasets uses.
    "mnist": RemoteDataset(
        name="mnist",
        files=tuple(
            RemoteFile(n, s, h)
            for n, s, h in zip(
                _IDX,
                (9912422, 28881, 1648877, 4542),
                (
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            )
        ),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        homepage="yann.lecun.com/exdb/mnist",
    ),
    # Sizes and SHA-256 from tensorflow/datasets, tensorflow_datasets/url_checksums/fashion_mnist.txt
    # (MD5s in zalandoresearch/fashion-mnist's README and torchvision's FashionMNIST.resources:
    # 8d4fb7e6c68d591d4c3dfef9ec88bf0d, 25c81989df183df01b3e8a0aad5dffbe,
    # bef4ecab320f06d8554ea6380940ec79, bb300cfdad3c16e7a12a480ee83cd310). The mirror is the
    # project's S3 site, also torchvision's; it serves plain HTTP only, so the checksum is what
    # guarantees the bytes.
    "fashion_mnist": RemoteDataset(
        name="fashion_mnist",
        files=tuple(
            RemoteFile(n, s, h)
            for n, s, h in zip(
                _IDX,
                (26421880, 29515, 4422102, 5148),
                (
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            )
        ),
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        homepage="github.com/zalandoresearch/fashion-mnist",
    ),
    # Size and SHA-256 from tensorflow/datasets, tensorflow_datasets/url_checksums/cifar10.txt (MD5
    # c32a1d4ab5d03f1284b67883e8d87530 on www.cs.toronto.edu/~kriz/cifar.html). The binary version:
    # the "python version" is pickled, and nnctl never unpickles a download.
    "cifar10": RemoteDataset(
        name="cifar10",
        files=(
            RemoteFile(
                "cifar-10-binary.tar.gz", 170052171, "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
            ),
        ),
        mirrors=("https://www.cs.toronto.edu/~kriz/",),
        homepage="www.cs.toronto.edu/~kriz/cifar.html",
    ),
}


def remote(name: str) -> RemoteDataset:
    """The catalog entry ``name`` (case and ``-`` insensitive), or a ConfigError listing the names."""
    key = str(name).strip().lower().replace("-", "_")
    if key not in CATALOG:
        raise ConfigError(f"unknown dataset '{name}' to fetch; valid: {', '.join(CATALOG)}" + suggestion(key, CATALOG))
    return CATALOG[key]


def data_home() -> Path:
    """The cache folder: ``$NNCTL_DATA``, else ``$XDG_CACHE_HOME/nnctl/data``, else ``~/.cache/nnctl/data``."""
    if os.environ.get("NNCTL_DATA"):
        return Path(os.environ["NNCTL_DATA"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # relative: ignored, as XDG says
    return base / "nnctl" / "data"


def dataset_dir(name: str) -> Path:
    """The cache folder of dataset ``name``."""
    return data_home() / name


def sha256(path: Path, block: int = 1 << 20) -> str:
    """The SHA-256 of a file, read in blocks."""
    import hashlib  # only when a file is checked

    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class CacheStatus:
    """What the cache holds of one dataset (see :func:`cache_status`)."""

    name: str
    directory: Path
    #: "fetched", "partial", "corrupt" (only with verify) or "missing"
    state: str
    files_present: int
    files_total: int
    #: bytes on disk, finished files and downloads in progress together
    bytes_present: int
    bytes_total: int


def cache_status(name: str, *, verify: bool = False) -> CacheStatus:
    """Look at the cache folder of ``name``: which files are there with their published size (and,
    with ``verify``, their published SHA-256), and how much of the rest is downloaded."""
    spec = remote(name)
    directory = dataset_dir(spec.name)
    present = on_disk = 0
    corrupt = False
    for f in spec.files:
        path = directory / f.name
        part = path.with_name(path.name + PART)
        if path.is_file() and path.stat().st_size == f.size:
            if verify and sha256(path) != f.sha256:
                corrupt = True
            else:
                present += 1
            on_disk += f.size
        elif part.is_file():
            on_disk += part.stat().st_size
    if corrupt:
        state = "corrupt"
    elif present == len(spec.files):
        state = "fetched"
    else:
        state = "partial" if on_disk else "missing"
    return CacheStatus(spec.name, directory, state, present, len(spec.files), on_disk, spec.size)


def megabytes(n: int) -> str:
    """``n`` bytes as decimal megabytes for messages: ``11.1 MB``."""
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.1f} kB"


def not_fetched(name: str, what: str) -> str:
    """The end of a loader's message when the cache lacks ``name``: which command fixes it.

    ``what`` is the loader's own description of the files a ``path=DIR`` folder must hold.
    """
    status = cache_status(name)
    where = f"'{status.directory}'"
    if status.state == "partial":
        done = (
            f"the download of {name} in {where} is incomplete ({megabytes(status.bytes_present)} of "
            f"{megabytes(status.bytes_total)}); run 'nnctl data fetch {name}' to finish it"
        )
    else:
        done = f"{name} is not downloaded into {where}; run 'nnctl data fetch {name}' ({megabytes(status.bytes_total)})"
    return f"{done}, or pass {name}:path=DIR for a folder holding {what}"
