"""Bad data through the real `nnctl train`: one clear `error:` line, exit code 2, no run left behind.

Every case writes a real file into tmp_path. Data is loaded and checked before the run directory is
created, so a refused dataset must leave no run directory at all in --results-dir.
"""

from __future__ import annotations

import gzip
import json
import math
import time

import numpy as np
import pandas as pd
import pytest
from helpers import error_line, invoke, make_run

from nnctl.data import load_dataset, split_dataset
from nnctl.data.idx import IDX_FILES, write_idx

FAST = ["--epochs", "1", "--model", "mlp:4", "--quiet"]


def train(tmp_path, *args):
    """Kept: returns the result unchecked (assert_refused checks the exit code), with this file's FAST flags."""
    return invoke("train", "--results-dir", tmp_path / "results", *FAST, *args, expect=None)


def assert_refused(result, tmp_path, *fragments: str) -> str:
    """Exit 2, exactly one `error:` line on stderr containing every fragment, no traceback, no run.
    Kept beside test_safe_reading's: here an existing but empty results directory is allowed."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    err = error_line(result)
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    results = tmp_path / "results"
    assert not results.exists() or not any(results.iterdir()), list(results.iterdir())
    return err


def table(n=60, seed=0) -> pd.DataFrame:
    """A small, learnable two-class table: features a, b, c and a string label."""
    X = np.random.default_rng(seed).standard_normal((n, 3))
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = np.where(X[:, 0] > 0, "yes", "no")
    return frame


def csv(tmp_path, frame: pd.DataFrame, name="data.csv") -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


# --- CSV ---------------------------------------------------------------------------------------------


def test_nan_and_inf_in_csv_features_are_refused_with_counts(tmp_path):
    frame = table()
    frame.loc[[3, 8], "b"] = np.nan
    frame.loc[5, "c"] = np.inf
    path = csv(tmp_path, frame)
    assert_refused(
        train(tmp_path, "--data", path),
        tmp_path,
        f"'{path}': column 'b' has 2 missing or infinite value(s) (first on line 5)",
        "also in column(s) 'c'",
        "3 of 60 rows are affected",
        "fill them or drop those rows",
    )


def test_single_class_target_is_refused(tmp_path):
    frame = table()
    frame["label"] = "x"
    path = csv(tmp_path, frame)
    assert_refused(
        train(tmp_path, "--data", path),
        tmp_path,
        f"'{path}' (target 'label'): classification needs at least 2 classes, got 1: 'x'",
    )


def test_missing_target_column_lists_columns_and_suggests(tmp_path):
    path = csv(tmp_path, table())
    assert_refused(
        train(tmp_path, "--data", path, "--target", "lable"),
        tmp_path,
        f"'{path}' has no column 'lable'; columns: a, b, c, label; did you mean 'label'?",
    )


def test_empty_and_header_only_csv(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_refused(
        train(tmp_path, "--data", str(empty)), tmp_path, f"'{empty}' is empty; expected a header line of column names"
    )
    header = tmp_path / "header.csv"
    header.write_text("a,b,label\n")
    assert_refused(
        train(tmp_path, "--data", str(header)), tmp_path, f"'{header}' has a header (a, b, label) but no data rows"
    )


def test_ragged_csv_names_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,label\n1,2,x\n3,4,5,y\n")
    assert_refused(
        train(tmp_path, "--data", str(path)),
        tmp_path,
        f"cannot read '{path}' as CSV: Expected 3 fields in line 3, saw 4",
    )


def test_huge_binary_file_named_csv_is_refused_quickly(tmp_path):
    """A 2 GB non-CSV file must be refused from its first block, not parsed or read whole."""
    path = tmp_path / "dump.csv"
    with open(path, "wb") as fh:
        fh.write(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 16)
        fh.truncate(2 * 1024**3)  # sparse: costs no disk, but reading it would take seconds
    start = time.perf_counter()
    result = train(tmp_path, "--data", str(path))
    elapsed = time.perf_counter() - start
    assert_refused(
        result,
        tmp_path,
        f"'{path}' is not a CSV text file: it holds binary data",
        "NUL byte at offset 7",
        "expected UTF-8 text",
    )
    assert elapsed < 2.0, elapsed


def test_non_utf8_text_is_refused_with_the_byte(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,label\n1,2,caf\xe9\n3,4,th\xe9\n".encode("latin-1"))
    assert_refused(
        train(tmp_path, "--data", str(path)),
        tmp_path,
        f"'{path}' is not UTF-8 text: byte 0xe9 at offset 17",
        "save the file as UTF-8",
    )


def test_constant_column_is_centred_not_divided_by_zero(tmp_path):
    """A zero-variance feature gets scale 1 (it becomes all zeros) and the run trains normally."""
    frame = table(80)
    frame.insert(1, "constant", 7.5)
    path = csv(tmp_path, frame)
    splits = split_dataset(load_dataset(path))
    scaler = splits.standardizer
    assert scaler.std[1] == 1.0 and scaler.mean[1] == 7.5
    assert np.all(splits.X_train[:, 1] == 0) and np.all(np.isfinite(splits.X_train))

    make_run(tmp_path / "results", "--data", path, epochs=3)
    (run,) = (tmp_path / "results").iterdir()
    curve = pd.read_csv(run / "curve.csv")
    metrics = pd.read_csv(run / "metrics.csv").iloc[0]
    assert metrics["status"] == "completed"
    assert np.all(np.isfinite(curve[["train_loss", "val_loss"]].to_numpy()))
    assert math.isfinite(metrics["test_loss"])


# --- NPZ ---------------------------------------------------------------------------------------------


def npz(tmp_path, name="data.npz", **arrays) -> str:
    path = tmp_path / name
    np.savez(path, **arrays)
    return str(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_in_npz_x_are_refused_with_position(tmp_path, bad):
    X = np.random.default_rng(0).standard_normal((40, 3))
    X[6, 2] = bad
    X[9, 0] = bad
    path = npz(tmp_path, X=X, y=np.arange(40) % 2)
    assert_refused(
        train(tmp_path, "--data", path),
        tmp_path,
        f"'{path}': X has 2 NaN or infinite value(s) in 2 sample(s) (first: sample 6, feature 2)",
        "fill them or drop those samples",
    )


def test_npz_x_and_y_of_different_lengths(tmp_path):
    path = npz(tmp_path, X=np.zeros((30, 2)), y=np.arange(25) % 2)
    assert_refused(
        train(tmp_path, "--data", path),
        tmp_path,
        f"'{path}': X has shape (30, 2) and y has shape (25,); they must have the same number of samples",
    )


def test_npz_missing_arrays_lists_what_it_has(tmp_path):
    path = npz(tmp_path, X=np.zeros((30, 2)), labels=np.arange(30) % 2)
    assert_refused(
        train(tmp_path, "--data", path),
        tmp_path,
        f"'{path}' has no array 'y'; found: X, labels",
        "np.savez(path, X=inputs, y=targets)",
    )
    assert_refused(
        train(tmp_path, "--data", path, "--target", "lables"),
        tmp_path,
        "has no array 'lables'; found: X, labels; did you mean 'labels'?",
    )
    only_y = npz(tmp_path, "only_y.npz", inputs=np.zeros((30, 2)), y=np.arange(30) % 2)
    assert_refused(train(tmp_path, "--data", only_y), tmp_path, f"'{only_y}' has no array 'X'; found: inputs, y")


def test_npz_that_is_not_a_zip_file(tmp_path):
    path = tmp_path / "data.npz"
    path.write_text("X,y\n1,0\n")
    assert_refused(
        train(tmp_path, "--data", str(path)),
        tmp_path,
        f"cannot read '{path}' as an .npz archive: it is not a zip file (first bytes 582c790a)",
    )
    single = tmp_path / "single.npz"
    with open(single, "wb") as fh:
        np.save(fh, np.zeros((4, 2)))
    assert_refused(
        train(tmp_path, "--data", str(single)), tmp_path, f"'{single}' holds a single array (.npy), not an .npz archive"
    )


# --- IDX (MNIST layout) ------------------------------------------------------------------------------


def fake_mnist(directory, n_train=12, n_test=6):
    """Four small valid IDX files (8×8 images) in the MNIST layout; returns their paths."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = [
        rng.integers(0, 256, (n_train, 8, 8), dtype=np.uint8),
        (np.arange(n_train) % 3).astype(np.uint8),
        rng.integers(0, 256, (n_test, 8, 8), dtype=np.uint8),
        (np.arange(n_test) % 3).astype(np.uint8),
    ]
    paths = [directory / (base + ".gz") for base in IDX_FILES]
    for path, array in zip(paths, arrays):
        write_idx(path, array)
    return paths


def mnist(tmp_path, directory):
    return train(tmp_path, "--data", f"mnist:path={directory}", "--val-split", "0", "--test-split", "0")


def test_fake_mnist_is_valid(tmp_path):
    """The fixture itself trains, so the failures below come from the damage, not the fixture."""
    fake_mnist(tmp_path / "m")
    result = mnist(tmp_path, tmp_path / "m")
    assert result.exit_code == 0, (result.output, result.exception)


def test_idx_wrong_magic_number(tmp_path):
    images = fake_mnist(tmp_path / "m")[0]
    images.write_bytes(gzip.compress(b"\x08\x03\x00\x00" + bytes(64)))
    assert_refused(
        mnist(tmp_path, tmp_path / "m"),
        tmp_path,
        f"'{images}' is not an IDX file: its magic number is 08030000, expected 0000",
    )


def test_idx_truncated_data(tmp_path):
    paths = fake_mnist(tmp_path / "m")
    plain = paths[2].with_suffix("")  # an uncompressed t10k file, cut short
    write_idx(plain, np.zeros((6, 8, 8), dtype=np.uint8))
    plain.write_bytes(plain.read_bytes()[:100])
    paths[2].unlink()
    assert_refused(
        mnist(tmp_path, tmp_path / "m"),
        tmp_path,
        f"'{plain}' is truncated: shape (6, 8, 8) of uint8 needs 400 bytes, the file has 100",
        "download it again",
    )


def test_idx_truncated_header(tmp_path):
    labels = fake_mnist(tmp_path / "m")[1]
    labels.write_bytes(gzip.compress(bytes([0, 0, 0x08, 3, 0, 0])))
    assert_refused(
        mnist(tmp_path, tmp_path / "m"),
        tmp_path,
        f"'{labels}' is truncated: its header needs 16 bytes for 3 dimensions, the file has 6",
    )


def test_idx_image_and_label_counts_differ(tmp_path):
    paths = fake_mnist(tmp_path / "m")
    write_idx(paths[1], np.zeros(11, dtype=np.uint8))
    assert_refused(
        mnist(tmp_path, tmp_path / "m"),
        tmp_path,
        "mnist: train images have shape (12, 8, 8) and labels (11,); expected (N, H, W) images "
        f"and N labels (files '{paths[0]}' and '{paths[1]}')",
    )


def test_idx_corrupt_gzip(tmp_path):
    images = fake_mnist(tmp_path / "m")[0]
    data = bytearray(images.read_bytes())
    images.write_bytes(bytes(data[:12]) + b"\xff" * 40)  # a gzip header followed by garbage
    assert_refused(
        mnist(tmp_path, tmp_path / "m"), tmp_path, f"'{images}' is not a readable gzip file", "download it again"
    )


def test_refused_runs_write_nothing_even_with_an_existing_results_dir(tmp_path):
    """A results folder that already holds a finished run keeps exactly that run."""
    good = csv(tmp_path, table())
    invoke("train", "--results-dir", tmp_path / "results", *FAST, "--data", good)
    before = sorted(p.name for p in (tmp_path / "results").iterdir())
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"")
    result = train(tmp_path, "--data", str(bad))
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == before
    (run,) = (tmp_path / "results").iterdir()
    assert json.loads((run / "config.json").read_text())["config"]["data"] == good
