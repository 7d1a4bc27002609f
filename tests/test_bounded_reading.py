"""Reading is bounded: a file is checked against what it declares before anything is allocated,
and an error message quotes at most a couple of hundred characters of any input."""

from __future__ import annotations

import gzip
import io
import os
import resource
import struct
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from nnctl.core.errors import MAX_MESSAGE, MAX_QUOTED, one_line
from nnctl.data import limits
from tests.helpers import invoke, one_line_error

GIB = 1 << 30


def npy_header(shape, descr="<f4") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def npy(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array)
    return buf.getvalue()


def npz(path, members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(f"{name}.npy", data)
    return path


def train_error(tmp_path, data, *extra):
    return one_line_error("train", "--data", data, "--epochs", "1", "--results-dir", tmp_path / "r", *extra)


def test_an_npz_header_claiming_a_huge_array_is_refused_without_allocating_it(tmp_path):
    """The header says 100,000 × 100,000 float32 (37 GiB); the archive is a few KiB. Run under a
    2 GiB address-space limit, the command still ends with the size message, not out of memory."""
    path = npz(tmp_path / "liar.npz", {"X": npy_header((100_000, 100_000)) + bytes(1000), "y": npy(np.zeros(10))})
    code = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30));"
        "from nnctl.cli.entry import main; sys.argv = ['nnctl'] + sys.argv[1:]; main()"
    )
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY and hard < 2 * GIB:
        pytest.skip("the address-space limit is already below 2 GiB here")
    proc = subprocess.run(
        [sys.executable, "-c", code, "train", "--data", str(path), "--epochs", "1", "--results-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NNCTL_KERNELS": "numpy", "OPENBLAS_NUM_THREADS": "1"},
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        f"error: array 'X' in '{path}': shape (100000, 100000) of float32 would take 37.3 GiB decoded, "
        "more than the 4 GiB nnctl reads from one file"
    )
    assert not (tmp_path / "r").exists()


def test_an_npz_header_that_disagrees_with_its_data_is_corrupt(tmp_path):
    path = npz(tmp_path / "short.npz", {"X": npy_header((1000, 1000)) + bytes(1000), "y": npy(np.zeros(1000))})
    err = train_error(tmp_path, path)
    assert err == (
        f"error: array 'X' in '{path}' is corrupt: its header declares shape (1000, 1000) of float32 "
        "(3.81 MiB) but the member holds 1000 bytes of data"
    )


def test_a_garbled_npy_header_is_called_corrupt_not_python_objects(tmp_path):
    garbled = b"\x93NUMPY\x01\x00\x20\x00{'descr': garbage}" + b" " * 13 + b"\n" + bytes(100)
    path = npz(tmp_path / "garbled.npz", {"X": garbled, "y": npy(np.zeros(10))})
    assert train_error(tmp_path, path) == (
        f"error: array 'X' in '{path}' is corrupt: its .npy header is not a valid array header"
    )
    # a real object array is still named as one
    obj = npz(tmp_path / "obj.npz", {"X": npy_header((2,), descr="|O") + bytes(16), "y": npy(np.zeros(2))})
    assert "holds Python objects (dtype=object), which are not loaded for safety" in train_error(tmp_path, obj)


def test_a_compressed_member_that_decodes_beyond_the_limit_is_refused(tmp_path, monkeypatch):
    """A member of zeros compresses about 1000:1; with the limit lowered to 1 MiB for the test, an
    8 MiB array in a few KiB of archive is refused by its declared size."""
    monkeypatch.setattr(limits, "MAX_ARRAY_BYTES", 1 << 20)
    path = npz(tmp_path / "bomb.npz", {"X": npy(np.zeros((2048, 1024), np.float32)), "y": npy(np.zeros(2048))})
    assert path.stat().st_size < 64 * 1024
    err = train_error(tmp_path, path)
    assert err.endswith(
        "shape (2048, 1024) of float32 would take 8 MiB decoded, more than the 1 MiB nnctl reads from one file"
    )


def mnist_dir(tmp_path, images: bytes, gz: bool = False):
    folder = tmp_path / "mnist"
    folder.mkdir()
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 3) + bytes(3)
    for split in ("train", "t10k"):
        names = {f"{split}-images-idx3-ubyte": images, f"{split}-labels-idx1-ubyte": labels}
        for name, data in names.items():
            if gz:
                (folder / f"{name}.gz").write_bytes(gzip.compress(data))
            else:
                (folder / name).write_bytes(data)
    return folder


def test_an_idx_file_with_255_dimensions_is_one_line_not_an_internal_error(tmp_path):
    header = bytes([0, 0, 8, 255]) + struct.pack(">255I", *([0xFFFFFFFF] * 255))
    folder = mnist_dir(tmp_path, header)
    err = train_error(tmp_path, f"mnist:path={folder}")
    assert err == (
        f"error: '{folder / 'train-images-idx3-ubyte'}': an IDX file of 255 dimensions is not read; "
        "expected 1 to 8 (MNIST's images have 3, its labels 1)"
    )


def test_a_gzipped_idx_declaring_terabytes_is_refused_before_decompressing(tmp_path):
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 1_000_000, 1000, 1000)
    folder = mnist_dir(tmp_path, header + bytes(1 << 20), gz=True)
    err = train_error(tmp_path, f"mnist:path={folder}")
    assert err == (
        f"error: '{folder / 'train-images-idx3-ubyte.gz'}': shape (1000000, 1000, 1000) of uint8 would "
        "take 931 GiB decoded, more than the 4 GiB nnctl reads from one file"
    )


def test_a_10_mb_cell_is_quoted_in_at_most_a_few_hundred_characters(tmp_path):
    frame = pd.DataFrame({"a": ["1.0"] * 5, "b": range(5), "y": [0, 1, 0, 1, 0]})
    frame.loc[2, "a"] = "x" * 10_000_000
    frame.to_csv(tmp_path / "cell.csv", index=False)
    err = train_error(tmp_path, tmp_path / "cell.csv", "--target", "y")
    assert len(err) < 600, len(err)
    assert "column 'a' is not numeric" in err and "…[10000002 characters]" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--optimizer", "q" * 5000],
        ["--data", "spiral:noise=" + "9" * 5000],
        ["--data", "digits", "--target", "t" * 5000],
        ["--model", "mlp:" + "8," * 3000 + "x"],
        ["--data", "/nonexistent/" + "d" * 3000 + ".csv"],
    ],
    ids=["component", "spec value", "target", "model string", "path"],
)
def test_long_inputs_in_names_specs_and_paths_are_cut_too(tmp_path, args):
    err = one_line_error("train", *args, "--results-dir", tmp_path)
    assert len(err) < 1000, err


def test_one_line_cuts_long_stretches_and_long_messages_and_is_idempotent():
    cell = "x" * 10_000
    line = one_line(f"bad value '{cell}' on line 3\nsecond line")
    assert line == f"bad value '{'x' * (MAX_QUOTED - 1)} …[10002 characters] on line 3 second line"
    assert one_line(line) == line
    words = " ".join(["word"] * 1000)
    assert len(one_line(words)) <= MAX_MESSAGE + 30 and one_line(words).endswith("…[4999 characters]")


def test_a_target_beyond_float32_is_a_clear_line_without_numpy_warnings(tmp_path):
    pd.DataFrame({"a": np.arange(20.0), "y": [1.5] * 10 + [1e39] + [2.5] * 9}).to_csv(tmp_path / "t.csv", index=False)
    result = invoke("train", "--data", tmp_path / "t.csv", "--target", "y", "--results-dir", tmp_path / "r", expect=2)
    assert result.stderr.strip() == (
        f"error: '{tmp_path / 't.csv'}' (target 'y'): the target has 1 value(s) beyond the float32 range "
        "(|y| > 3.4e+38), e.g. 1e+39; rescale the target (e.g. change units or take a logarithm)"
    )
    assert "RuntimeWarning" not in result.output
