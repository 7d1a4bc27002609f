"""Datasets from the user's own files: ``.csv`` (with a header line) and ``.npz`` (arrays X and y).

CSV
    Read with :func:`pandas.read_csv`. One column is the target: the one named by ``target``, else
    a column called ``target``, ``label`` or ``y`` (any case), else the last column. Every other
    column is a feature and must be numeric and complete. A first column with an empty header
    (``Unnamed: 0``, what ``DataFrame.to_csv`` writes for the index) is dropped, since a row number
    is not a feature. The file must start with a header line of column names. It must be UTF-8
    text: the first block (64 KiB) is checked for NUL bytes and undecodable bytes before pandas
    parses anything, so a large binary file given by mistake is refused at once, not read whole.
NPZ
    Read with ``np.load(path, allow_pickle=False)`` (never unpickles), after checking that the file
    starts with the zip signature (an ``.npz`` is a zip archive; a pickle or raw ``.npy`` file named
    ``.npz`` is refused by its first bytes). Arrays ``X`` and ``y`` (or the array named by
    ``target``). ``X`` of shape (N,) becomes (N, 1); (N, H, W) becomes grayscale images
    (N, 1, H, W); (N, C, H, W) is kept (channels first).

Features of any numeric type (integer columns, float16 arrays) become float32 in
:class:`~nnctl.data.dataset.Dataset`, which records the type read in ``source_dtype``.

The task (classification or regression) is inferred from the target unless given; see
:func:`nnctl.data.dataset.infer_task`. Class labels are encoded as 0..C-1 in sorted order of the
original values, which are kept in ``Dataset.classes``.
"""

from __future__ import annotations

import codecs
import gzip
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..core.errors import DataError, one_line, suggestion
from .dataset import Dataset, encode_target
from .limits import size_text, too_large

#: Column names taken as the target when ``target`` is not given (compared case-insensitively).
TARGET_NAMES = ("target", "label", "y")
SUFFIXES = (".csv", ".csv.gz", ".npz")
#: Bytes read from the start of a CSV file to check that it is text before parsing it.
SNIFF_BYTES = 64 * 1024
#: How an ``.npz`` (a zip archive) starts: a local file header, or the end record of an empty zip.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def load_file(path: str | Path, *, target: str | None = None, task: str | None = None) -> Dataset:
    """Load a ``.csv`` or ``.npz`` file as a :class:`Dataset` (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"dataset file '{path}' does not exist")
    if p.is_dir():
        raise DataError(f"'{path}' is a directory; expected a .csv or .npz file")
    name = p.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return load_csv(p, target=target, task=task)
    if name.endswith(".npz"):
        return load_npz(p, target=target, task=task)
    raise DataError(f"unsupported dataset file '{path}'; expected one of: {', '.join(SUFFIXES)}")


def _line(index: int) -> int:
    """Line number in the file of data row ``index`` (line 1 is the header)."""
    return index + 2


def _pick_target(path: Path, columns: list[str], target: str | None) -> str:
    if target is not None:
        if target not in columns:
            raise DataError(
                f"'{path}' has no column '{target}'; columns: {', '.join(columns)}" + suggestion(target, columns)
            )
        return target
    for column in columns:
        if column.lower() in TARGET_NAMES:
            return column
    return columns[-1]


def _looks_headerless(columns: list[str]) -> bool:
    """True when every column name is a number other than the plain 0..F-1 that pandas writes."""
    try:
        values = [float(c) for c in columns]
    except ValueError:
        return False
    return values != list(range(len(columns)))


def _sniff_text(path: Path) -> None:
    """Refuse a file whose first block is not UTF-8 text (binary data, another encoding).

    Only :data:`SNIFF_BYTES` are read (decompressed, for ``.gz``), so a multi-gigabyte binary file
    is refused in milliseconds instead of being handed to the CSV parser.
    """
    gz = path.name.lower().endswith(".gz")
    try:
        with gzip.open(path, "rb") if gz else path.open("rb") as fh:
            block = fh.read(SNIFF_BYTES)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"'{path}' is not a readable gzip file ({exc}); expected a gzipped CSV file") from None
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None
    nul = block.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"'{path}' is not a CSV text file: it holds binary data (a NUL byte at offset {nul}); "
            "expected UTF-8 text with a header line of column names"
        )
    try:  # an incremental decoder allows a character cut at the end of the block
        codecs.getincrementaldecoder("utf-8")().decode(block, final=len(block) < SNIFF_BYTES)
    except UnicodeDecodeError as exc:
        raise DataError(
            f"'{path}' is not UTF-8 text: byte 0x{block[exc.start]:02x} at offset {exc.start} cannot "
            "be decoded; save the file as UTF-8 CSV"
        ) from None


def load_csv(path: str | Path, *, target: str | None = None, task: str | None = None) -> Dataset:
    """Load a CSV file with a header line; see the module docstring for the column rules."""
    import pandas as pd  # here, not at the top: pandas takes a third of a second to import

    path = Path(path)
    _sniff_text(path)
    try:
        df = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"'{path}' is empty; expected a header line of column names, then one row per sample") from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"'{path}' is not UTF-8 text ({exc.reason}: byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8 CSV"
        ) from None
    except pd.errors.ParserError as exc:
        detail = (one_line(exc) or type(exc).__name__).removeprefix("Error tokenizing data. C error: ")
        raise DataError(f"cannot read '{path}' as CSV: {detail}; every row needs one value per header column") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"cannot read '{path}' as CSV: {one_line(exc) or type(exc).__name__}") from None
    df.columns = [str(c) for c in df.columns]
    if len(df.columns) and df.columns[0].startswith("Unnamed: 0"):
        df = df.drop(columns=df.columns[0])
    columns = list(df.columns)
    if _looks_headerless(columns):
        raise DataError(
            f"'{path}' seems to have no header line (its first line is {','.join(columns)[:60]}); "
            "add a first line of column names"
        )
    if len(df) == 0:
        raise DataError(f"'{path}' has a header ({', '.join(columns)}) but no data rows")
    target = _pick_target(path, columns, target)
    features = [c for c in columns if c != target]
    if not features:
        raise DataError(f"'{path}' has only the target column '{target}'; at least one feature column is needed")

    for column in features:
        col = df[column]
        if not pd.api.types.is_numeric_dtype(col):
            coerced = pd.to_numeric(col, errors="coerce")
            bad = np.flatnonzero((col.notna() & coerced.isna()).to_numpy())
            i = int(bad[0]) if len(bad) else 0
            raise DataError(
                f"'{path}': column '{column}' is not numeric (e.g. {col.iloc[i]!r} on line {_line(i)}); "
                "encode it as numbers or drop the column"
            )
    X = df[features].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        j = int(cols[0])
        rows = np.flatnonzero(bad[:, j])
        others = [f"'{features[c]}'" for c in cols[1:]]
        also = f"; also in column(s) {', '.join(others)}" if others else ""
        raise DataError(
            f"'{path}': column '{features[j]}' has {len(rows)} missing or infinite value(s) "
            f"(first on line {_line(int(rows[0]))}){also}; "
            f"{int(bad.any(axis=1).sum())} of {len(X)} rows are affected; fill them or drop those rows"
        )

    col = df[target]
    missing = np.flatnonzero(col.isna().to_numpy())
    if len(missing):
        raise DataError(
            f"'{path}': target column '{target}' has {len(missing)} missing value(s) "
            f"(first on line {_line(int(missing[0]))}); drop those rows"
        )
    values = col.to_numpy() if pd.api.types.is_numeric_dtype(col) else col.astype(str).to_numpy(dtype=str)
    y, task, classes = encode_target(f"'{path}' (target '{target}')", values, task)
    source_dtype = str(np.result_type(*df[features].dtypes))  # e.g. int64 for integer columns
    return Dataset(
        X=X, y=y, task=task, name=str(path), classes=classes, feature_names=features, source_dtype=source_dtype
    )


def _array(archive, path: Path, key: str) -> np.ndarray:
    """Member ``key`` of an open NPZ archive, after its ``.npy`` header is checked against the
    member's size and the size limit (nnctl/data/limits.py): nothing is allocated for an array
    that a header only claims, or that would not fit."""
    member = f"{key}.npy"
    origin = f"array '{key}' in '{path}'"
    try:
        with archive.zip.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0}.get(
                version, np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh)
            data_bytes = archive.zip.getinfo(member).file_size - fh.tell()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, SyntaxError):
        raise DataError(f"{origin} is corrupt: its .npy header is not a valid array header") from None
    if dtype.hasobject:
        raise DataError(
            f"{origin} holds Python objects (dtype=object), which are not loaded "
            "for safety; save plain numeric or string arrays"
        )
    declared = math.prod(shape) * dtype.itemsize
    message = too_large(origin, f"shape {shape} of {dtype}", declared)
    if message:
        raise DataError(message)
    if declared != data_bytes:
        raise DataError(
            f"{origin} is corrupt: its header declares shape {shape} of {dtype} ({size_text(declared)}) "
            f"but the member holds {size_text(max(data_bytes, 0))} of data"
        )
    try:
        return archive[key]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {origin}: {one_line(exc)}") from None


def load_npz_arrays(
    path: str | Path, key: str = "y", *, need_targets: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """``X`` and the targets ``key`` of an ``.npz`` archive (None when absent and not needed),
    checked — a zip, numeric, finite, as long as each other — and never unpickled."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DataError(f"cannot read '{path}': {exc.strerror or exc}") from None
    if head.startswith(b"\x93NUMPY"):
        raise DataError(
            f"'{path}' holds a single array (.npy), not an .npz archive; save with np.savez(path, X=..., y=...)"
        )
    if not head.startswith(ZIP_MAGIC):
        kind = " but looks like a pickle, which is never loaded" if head[:1] == b"\x80" else ""
        raise DataError(
            f"cannot read '{path}' as an .npz archive: it is not a zip file{kind} (first bytes "
            f"{head[:4].hex() or 'none: the file is empty'}); save with np.savez(path, X=inputs, {key}=targets)"
        )
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read '{path}' as an .npz archive: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"'{path}' holds a single array, not an .npz archive; save with np.savez(path, X=..., y=...)")
    with archive:
        missing = [k for k in ("X", key) if k not in archive.files and (k == "X" or need_targets)]
        if missing:
            hint = suggestion(missing[0], archive.files) if len(missing) == 1 else ""
            raise DataError(
                f"'{path}' has no array {' or '.join(repr(m) for m in missing)}; found: "
                f"{', '.join(archive.files) or 'nothing'}{hint}; "
                f"save with np.savez(path, X=inputs, {key}=targets)"
            )
        X = _array(archive, path, "X")
        y = _array(archive, path, key) if key in archive.files else None
    if X.dtype.kind not in "biuf":
        raise DataError(f"'{path}': X must be numeric, got dtype {X.dtype}")
    if y is not None and y.dtype.kind not in "biufUS":
        raise DataError(f"'{path}': {key} must be numbers or strings, got dtype {y.dtype}")
    if X.ndim == 0 or (y is not None and (y.ndim == 0 or len(X) != len(y))):
        raise DataError(
            f"'{path}': X has shape {X.shape} and {key} has shape {y.shape}; "
            "they must have the same number of samples (first axis)"
        )
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X.reshape(len(X), -1))
        if bad.any():
            rows = np.flatnonzero(bad.any(axis=1))
            raise DataError(
                f"'{path}': X has {int(bad.sum())} NaN or infinite value(s) in {len(rows)} sample(s) "
                f"(first: sample {int(rows[0])}, feature {int(np.argmax(bad[rows[0]]))}); "
                "fill them or drop those samples"
            )
    if X.ndim == 1:
        X = X[:, None]
    elif X.ndim == 3:
        X = X[:, None]
    elif X.ndim > 4:
        raise DataError(f"'{path}': X has shape {X.shape}; expected (N, F), (N, H, W) or (N, C, H, W)")
    if y is not None and y.dtype.kind == "S":
        y = y.astype(str)
    return X, y


def load_npz(path: str | Path, *, target: str | None = None, task: str | None = None) -> Dataset:
    """Load arrays ``X`` and ``y`` (or ``target``) from an ``.npz`` archive, without unpickling."""
    path = Path(path)
    key = target or "y"
    X, y = load_npz_arrays(path, key, need_targets=True)
    y, task, classes = encode_target(f"'{path}' ({key})", y, task)
    return Dataset(X=X, y=y, task=task, name=str(path), classes=classes, source_dtype=str(X.dtype))
