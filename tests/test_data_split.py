"""Train/validation/test splits and standardization."""

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, DataError, ShapeError
from nnctl.data import Dataset, Standardizer, load_dataset, split_dataset


def toy(counts, features=3, seed=0):
    """A classification dataset with the given number of samples per class."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    X = rng.normal(5.0, 2.0, (len(y), features)) + y[:, None]
    return Dataset(X, y, "classification", "toy")


def test_split_is_deterministic_per_seed():
    ds = load_dataset("iris")
    a, b, c = split_dataset(ds, seed=3), split_dataset(ds, seed=3), split_dataset(ds, seed=4)
    np.testing.assert_array_equal(a.train_index, b.train_index)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.train_index, c.train_index)


def test_split_sizes_cover_everything_without_overlap():
    ds = load_dataset("digits")
    s = split_dataset(ds, val_split=0.1, test_split=0.2)
    everything = np.concatenate([s.train_index, s.val_index, s.test_index])
    assert len(everything) == len(ds) and len(np.unique(everything)) == len(ds)
    assert abs(len(s.X_test) - 0.2 * len(ds)) <= ds.n_classes
    assert abs(len(s.X_val) - 0.1 * len(ds)) <= ds.n_classes
    assert s.X_train.shape[1:] == (1, 8, 8) and s.X_train.dtype == np.float32
    np.testing.assert_array_equal(s.y_val, ds.y[s.val_index])


def test_split_is_stratified_and_keeps_small_classes():
    ds = toy([200, 100, 5])
    s = split_dataset(ds, val_split=0.1, test_split=0.2)
    assert np.bincount(s.y_test).tolist() == [40, 20, 1]
    assert np.bincount(s.y_val).tolist() == [20, 10, 1]
    assert np.bincount(s.y_train).tolist() == [140, 70, 3]
    # samples are shuffled within each split, not grouped by class
    assert len(np.unique(s.y_train[:20])) > 1


def test_unstratified_and_regression_splits():
    ds = toy([50, 50])
    s = split_dataset(ds, val_split=0.1, test_split=0.3, stratify=False)
    assert s.sizes() == {"train": 60, "val": 10, "test": 30}
    reg = load_dataset("sine:n=101")
    s = split_dataset(reg, val_split=0.25, test_split=0.25)
    assert s.sizes() == {"train": 51, "val": 25, "test": 25} and s.y_train.dtype == np.float32


def test_zero_fractions_give_empty_splits_with_trailing_shape():
    s = split_dataset(load_dataset("digits"), val_split=0.0, test_split=0.0)
    assert s.X_val.shape == (0, 1, 8, 8) and s.X_test.shape == (0, 1, 8, 8)
    assert s.y_val.shape == (0,) and len(s.X_train) == 1797


@pytest.mark.parametrize(
    "val, test, message",
    [
        (-0.1, 0.2, "split: val_split=-0.1 is out of range; allowed: 0.0 <= val_split < 1.0"),
        (0.1, 1.0, "test_split=1.0 is out of range"),
        (0.5, 0.5, "val_split \\+ test_split = 1 leaves no training data"),
    ],
)
def test_fractions_are_validated(val, test, message):
    with pytest.raises(ConfigError, match=message):
        split_dataset(toy([10, 10]), val_split=val, test_split=test)


def test_too_small_datasets_are_refused_with_sizes():
    expected = "too few samples for val_split=0.1: 2 samples give train 2, val 0, test 0"
    with pytest.raises(DataError, match=expected):
        split_dataset(toy([1, 1]), val_split=0.1, test_split=0.2)
    expected = "val_split=0.1: 4 samples give train 2, val 0, test 2; use more data or val_split=0"
    with pytest.raises(DataError, match=expected):
        split_dataset(toy([2, 2]), val_split=0.1, test_split=0.2)
    with pytest.raises(DataError, match="too few samples for test_split=0.1"):
        split_dataset(load_dataset("sine:n=1"), val_split=0.0, test_split=0.1)
    with pytest.raises(DataError, match="class\\(es\\) '1' have no training samples"):
        split_dataset(toy([30, 1]), val_split=0.0, test_split=0.5, stratify=False, seed=1)


def test_standardizer_is_fitted_on_training_split_only():
    ds = load_dataset("wine")
    s = split_dataset(ds, val_split=0.2, test_split=0.2)
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(s.X_train.std(axis=0), 1.0, atol=1e-4)
    assert np.abs(s.X_val.mean(axis=0)).max() > 1e-3  # val statistics were not used
    raw = ds.X[s.train_index]
    np.testing.assert_allclose(s.standardizer.mean, raw.mean(axis=0, dtype=np.float64), rtol=1e-6)
    expected = (ds.X[s.val_index] - raw.mean(0)) / raw.std(0)
    np.testing.assert_allclose(s.X_val, expected, rtol=1e-4, atol=1e-5)
    assert s.X_val.dtype == np.float32
    np.testing.assert_array_equal(ds.X, load_dataset("wine").X)  # the dataset itself is untouched


def test_standardizer_per_channel_for_images_and_constant_columns():
    X = np.random.default_rng(0).normal(3.0, 2.0, (50, 2, 4, 4)).astype(np.float32)
    X[:, 1] = 7.0  # a constant channel
    scaler = Standardizer.fit(X)
    assert scaler.per == "channel" and scaler.std.tolist()[1] == 1.0
    out = scaler.transform(X)
    assert out.shape == X.shape and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 0].mean(), 0.0, atol=1e-5)
    assert (out[:, 1] == 0).all()
    np.testing.assert_allclose(scaler.inverse_transform(out), X, rtol=1e-5)
    digits = split_dataset(load_dataset("digits"))
    assert digits.standardizer.mean.shape == (1,)

    tab = np.ones((10, 3), dtype=np.float32)
    tab[:, 0] = np.arange(10)
    assert np.isfinite(Standardizer.fit(tab).transform(tab)).all()
    expected = r"fitted per channel on 2 channels cannot transform data of shape \(3, 4\)"
    with pytest.raises(ShapeError, match=expected):
        scaler.transform(np.zeros((3, 4)))


def test_standardizer_dict_round_trip_and_disabled():
    s = split_dataset(load_dataset("iris"))
    record = s.standardizer.to_dict()
    assert isinstance(record["mean"], list) and record["per"] == "feature"
    again = Standardizer.from_dict(record)
    np.testing.assert_array_equal(again.transform(s.X_val), s.standardizer.transform(s.X_val))
    with pytest.raises(ConfigError, match="invalid standardizer record"):
        Standardizer.from_dict({"mean": [0.0], "std": [0.0, 1.0]})
    raw = split_dataset(load_dataset("iris"), standardize=False)
    assert raw.standardizer is None and raw.X_train.max() > 5
