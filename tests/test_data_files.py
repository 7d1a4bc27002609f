"""Loading the user's files: CSV, NPZ, IDX and the MNIST-style loaders, from real files on disk."""

import gzip

import numpy as np
import pandas as pd
import pytest

from nnctl.core.errors import ConfigError, DataError
from nnctl.data import load_dataset, read_idx, write_idx
from nnctl.data.idx import IDX_FILES

# --- CSV ---------------------------------------------------------------------------------------------


def write_csv(tmp_path, frame, name="data.csv"):
    path = tmp_path / name
    pd.DataFrame(frame).to_csv(path, index=False)
    return str(path)


def test_csv_default_target_is_named_label_column(tmp_path):
    frame = {"a": [1.0, 2.0, 3.0, 4.0], "label": ["cat", "dog", "cat", "emu"], "b": [0, 1, 0, 1]}
    path = write_csv(tmp_path, frame)
    ds = load_dataset(path)
    assert ds.task == "classification" and ds.feature_names == ["a", "b"]
    assert ds.classes == ["cat", "dog", "emu"] and ds.y.tolist() == [0, 1, 0, 2]
    assert ds.X.shape == (4, 2) and ds.X.dtype == np.float32 and ds.name == path


def test_csv_last_column_or_explicit_target(tmp_path):
    frame = {"a": np.linspace(0, 1, 60), "b": np.arange(60) % 3, "out": np.linspace(-1, 1, 60) ** 2}
    path = write_csv(tmp_path, frame)
    ds = load_dataset(path)
    assert ds.task == "regression" and ds.feature_names == ["a", "b"] and ds.y.dtype == np.float32
    by_b = load_dataset(path, target="b")
    assert by_b.task == "classification" and by_b.classes == ["0", "1", "2"]
    assert by_b.feature_names == ["a", "out"]


def test_csv_task_inference_and_override(tmp_path):
    path = write_csv(tmp_path, {"x": np.arange(100.0), "y": np.arange(100) % 5 + 1})
    ds = load_dataset(path)
    assert ds.task == "classification" and ds.classes == ["1", "2", "3", "4", "5"]
    reg = load_dataset(path, task="regression")
    assert reg.task == "regression" and reg.y.max() == 5.0
    many = write_csv(tmp_path, {"x": np.arange(100.0), "y": np.arange(100)}, "many.csv")
    assert load_dataset(many).task == "regression"
    assert load_dataset(many, task="classification").n_classes == 100
    with pytest.raises(ConfigError, match="task=regresion is not allowed.*did you mean 'regression'"):
        load_dataset(path, task="regresion")


def test_csv_float_labels_and_string_regression_are_refused(tmp_path):
    path = write_csv(tmp_path, {"x": [1, 2, 3], "y": [0.5, 1.0, 1.5]})
    with pytest.raises(DataError, match="non-integer values \\(e.g. 0.5\\)"):
        load_dataset(path, task="classification")
    path = write_csv(tmp_path, {"x": [1, 2, 3], "y": ["a", "b", "a"]}, "s.csv")
    with pytest.raises(DataError, match="not numeric.*cannot be a regression target"):
        load_dataset(path, task="regression")


def test_csv_missing_target_column_lists_columns(tmp_path):
    path = write_csv(tmp_path, {"alpha": [1, 2], "beta": [3, 4], "gamma": [0, 1]})
    expected = "no column 'gama'; columns: alpha, beta, gamma; did you mean 'gamma'"
    with pytest.raises(DataError, match=expected):
        load_dataset(path, target="gama")


def test_csv_non_numeric_feature_names_column_and_value(tmp_path):
    path = write_csv(tmp_path, {"size": [1, 2, 3], "color": ["1", "red", "3"], "y": [0, 1, 0]})
    with pytest.raises(DataError, match="column 'color' is not numeric \\(e.g. 'red' on line 3\\)"):
        load_dataset(path)


def test_csv_nan_and_inf_in_features(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("a,b,y\n1,2,0\n3,,1\n5,6,0\n7,,1\n")
    expected = r"column 'b' has 2 missing or infinite value\(s\) \(first on line 3\)"
    with pytest.raises(DataError, match=expected):
        load_dataset(str(path))
    path.write_text("a,b,y\n1,2,0\ninf,4,1\n")
    with pytest.raises(DataError, match="column 'a' has 1 missing or infinite"):
        load_dataset(str(path))
    path.write_text("a,y\n1,0\n2,\n3,1\n")
    with pytest.raises(DataError, match="target column 'y' has 1 missing value"):
        load_dataset(str(path))


def test_csv_empty_header_only_and_headerless(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        load_dataset(str(empty))
    header = tmp_path / "header.csv"
    header.write_text("a,b,y\n")
    with pytest.raises(DataError, match="header \\(a, b, y\\) but no data rows"):
        load_dataset(str(header))
    raw = tmp_path / "raw.csv"
    raw.write_text("5.1,3.5,0\n4.9,3.0,1\n")
    with pytest.raises(DataError, match="no header line"):
        load_dataset(str(raw))
    only = write_csv(tmp_path, {"y": [0, 1]}, "only.csv")
    with pytest.raises(DataError, match="only the target column"):
        load_dataset(only)


def test_csv_written_with_index_drops_it(tmp_path):
    path = tmp_path / "indexed.csv"
    pd.DataFrame({"a": [0.1, 0.2, 0.3], "y": [0, 1, 0]}).to_csv(path)
    ds = load_dataset(str(path))
    assert ds.feature_names == ["a"] and ds.X.shape == (3, 1)


def test_unsupported_suffix_and_directory(tmp_path):
    other = tmp_path / "data.txt"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="unsupported dataset file.*expected one of: .csv"):
        load_dataset(str(other))
    with pytest.raises(DataError, match="is a directory"):
        load_dataset(str(tmp_path) + "/")


# --- NPZ ---------------------------------------------------------------------------------------------


def test_npz_classification_regression_and_images(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.arange(12.0).reshape(6, 2), y=np.array([3, 7, 3, 7, 7, 3]))
    ds = load_dataset(str(path))
    assert ds.task == "classification" and ds.classes == ["3", "7"] and ds.y.tolist() == [0, 1, 0, 1, 1, 0]
    np.savez(path, X=np.zeros((5, 4, 4), dtype=np.uint8), y=np.linspace(0, 1, 5))
    ds = load_dataset(str(path))
    assert ds.task == "regression" and ds.X.shape == (5, 1, 4, 4) and ds.is_image
    np.savez(path, X=np.ones((5, 3)), y=np.ones((5, 2)), labels=np.array(["a", "b", "a", "b", "b"]))
    assert load_dataset(str(path)).n_outputs == 2
    assert load_dataset(str(path), target="labels").classes == ["a", "b"]


def test_npz_errors(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((5, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match="X has shape \\(5, 2\\) and y has shape \\(4,\\)"):
        load_dataset(str(path))
    np.savez(path, X=np.zeros((5, 2)), labels=np.zeros(5))
    with pytest.raises(DataError, match="has no array 'y'; found: X, labels"):
        load_dataset(str(path))
    objects = np.empty(5, dtype=object)
    objects[:] = [{"a": 1}, None, 1, "x", 2.0]
    np.savez(path, X=np.zeros((5, 2)), y=objects, allow_pickle=True)
    with pytest.raises(DataError, match="array 'y' .* holds Python objects"):
        load_dataset(str(path))
    np.savez(path, X=np.array([[0.0], [np.nan]]), y=np.array([0, 1]))
    with pytest.raises(DataError, match="X has 1 NaN"):
        load_dataset(str(path))
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match="cannot read .* as an .npz archive"):
        load_dataset(str(tmp_path / "junk.npz"))


# --- IDX ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a-idx3-ubyte", "a-idx3-ubyte.gz"])
def test_idx_round_trip(tmp_path, dtype, name):
    array = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_idx_header_is_big_endian_and_gzip_detected_by_magic(tmp_path):
    write_idx(tmp_path / "l", np.array([1, 2, 3], dtype=np.int32))
    raw = (tmp_path / "l").read_bytes()
    assert raw[:8] == bytes([0, 0, 0x0C, 1, 0, 0, 0, 3]) and raw[8:12] == bytes([0, 0, 0, 1])
    (tmp_path / "zipped").write_bytes(gzip.compress(raw))  # gzipped, no .gz suffix
    assert read_idx(tmp_path / "zipped").tolist() == [1, 2, 3]


def test_idx_errors(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(bytes([1, 0, 8, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(DataError, match="not an IDX file: its magic number is 01000801"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 5]))
    with pytest.raises(DataError, match="unknown IDX value type 0x0A"):
        read_idx(path)
    write_idx(path, np.zeros((10, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:1000])
    expected = r"'.*f' is truncated: shape \(10, 28, 28\) of uint8 needs 7856 bytes, the file has 1000"
    with pytest.raises(DataError, match=expected):
        read_idx(path)
    gz = tmp_path / "f.gz"
    write_idx(gz, np.zeros(1000, dtype=np.uint8))
    gz.write_bytes(gz.read_bytes()[:20])
    with pytest.raises(DataError, match="not a readable gzip file"):
        read_idx(gz)
    with pytest.raises(DataError, match="cannot write dtype int64"):
        write_idx(path, np.zeros(3, dtype=np.int64))


def make_fake_mnist(directory, n_train=20, n_test=10, gz=True, dotted=False):
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = [
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        np.arange(n_train, dtype=np.uint8) % 10,
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        np.arange(n_test, dtype=np.uint8)[::-1] % 10,
    ]
    for base, array in zip(IDX_FILES, arrays):
        name = base.replace("-idx", ".idx") if dotted else base
        write_idx(directory / (name + (".gz" if gz else "")), array)
    return arrays


@pytest.mark.parametrize("gz, dotted", [(True, False), (False, True)])
def test_mnist_loader_on_fake_files(tmp_path, gz, dotted):
    arrays = make_fake_mnist(tmp_path / "m", gz=gz, dotted=dotted)
    ds = load_dataset(f"mnist:path={tmp_path / 'm'}")
    assert ds.X.shape == (30, 1, 28, 28) and ds.X.dtype == np.float32
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    np.testing.assert_allclose(ds.X[20, 0], arrays[2][0] / 255.0, rtol=1e-6)
    assert ds.y.tolist() == np.concatenate([arrays[1], arrays[3]]).tolist()
    assert ds.n_classes == 10 and ds.name == f"mnist:path={tmp_path / 'm'}"


def test_fashion_mnist_has_clothing_classes(tmp_path):
    make_fake_mnist(tmp_path / "f")
    ds = load_dataset(f"fashion_mnist:path={tmp_path / 'f'}")
    assert ds.classes[0] == "T-shirt/top" and ds.X.shape == (30, 1, 28, 28)


def test_mnist_missing_files_explain_what_to_do(tmp_path, monkeypatch):
    expected = (
        r"mnist: no IDX files in '.*'; expected train-images-idx3-ubyte\(.gz\), "
        r".*t10k-labels-idx1-ubyte\(.gz\) - put them there, or run 'nnctl data fetch mnist' and use "
        r"--data mnist without a path"
    )
    with pytest.raises(DataError, match=expected):
        load_dataset(f"mnist:path={tmp_path}")
    make_fake_mnist(tmp_path / "partial")
    (tmp_path / "partial" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing t10k-labels-idx1-ubyte\\(.gz\\) in"):
        load_dataset(f"mnist:path={tmp_path / 'partial'}")
    # with no path, the files come from nnctl's cache, which 'nnctl data fetch mnist' fills
    monkeypatch.setenv("NNCTL_DATA", str(tmp_path / "cache"))
    expected = r"mnist is not downloaded into '.*cache/mnist'; run 'nnctl data fetch mnist' \(11.6 MB\)"
    with pytest.raises(DataError, match=expected):
        load_dataset("mnist")
    make_fake_mnist(tmp_path / "cache" / "mnist", n_train=4, n_test=2)
    assert len(load_dataset("mnist")) == 6 and len(load_dataset("mnist:path=auto")) == 6


def test_mnist_mismatched_labels(tmp_path):
    make_fake_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))
    with pytest.raises(DataError, match="train images have shape \\(20, 28, 28\\) and labels \\(19,\\)"):
        load_dataset(f"mnist:path={tmp_path}")
