"""Named datasets: builtins, synthetic generators, the registry and load_dataset dispatch."""

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, DataError, SpecError, UnknownComponentError
from nnctl.data import DATASETS, Dataset, infer_task, is_file_spec, load_dataset

SYNTHETIC = ["spiral", "moons", "circles", "xor", "blobs", "sine"]


@pytest.mark.parametrize(
    "name, shape, n_classes",
    [
        ("digits", (1797, 1, 8, 8), 10),
        ("iris", (150, 4), 3),
        ("wine", (178, 13), 3),
        ("breast_cancer", (569, 30), 2),
    ],
)
def test_builtins_load_with_expected_shapes(name, shape, n_classes):
    ds = load_dataset(name)
    assert ds.X.shape == shape and ds.X.dtype == np.float32
    assert ds.y.dtype == np.int64 and ds.y.shape == (shape[0],)
    assert ds.task == "classification" and ds.n_classes == n_classes
    assert set(np.unique(ds.y)) == set(range(n_classes))
    assert ds.input_shape == shape[1:]
    assert ds.is_image == (len(shape) == 4)
    assert ds.name == name


def test_digits_are_raw_pixels_and_iris_keeps_names():
    digits = load_dataset("digits")
    assert digits.X.min() == 0 and digits.X.max() == 16
    assert digits.classes == [str(d) for d in range(10)] and digits.feature_names is None
    iris = load_dataset("iris")
    assert iris.classes == ["setosa", "versicolor", "virginica"]
    assert iris.feature_names[0] == "sepal length (cm)"
    assert load_dataset("cancer").classes == ["malignant", "benign"]  # alias


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_is_deterministic_per_seed_and_differs_across_seeds(name):
    a, b, c = load_dataset(name, seed=7), load_dataset(name, seed=7), load_dataset(name, seed=8)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.X.dtype == np.float32 and np.isfinite(a.X).all()


@pytest.mark.parametrize(
    "spec, shape, counts",
    [
        ("spiral", (300, 2), [100, 100, 100]),
        ("spiral:classes=5,n=601,noise=0.3", (601, 2), [121, 120, 120, 120, 120]),
        ("moons:n=101", (101, 2), [51, 50]),
        ("circles:n=40,factor=0.3", (40, 2), [20, 20]),
        ("blobs:n=90,classes=4,features=5", (90, 5), [23, 23, 22, 22]),
    ],
)
def test_synthetic_shapes_and_label_counts(spec, shape, counts):
    ds = load_dataset(spec)
    assert ds.X.shape == shape
    assert ds.class_counts().tolist() == counts
    assert ds.n_classes == len(counts)


def test_synthetic_geometry():
    circles = load_dataset("circles:noise=0.0,factor=0.3")
    radius = np.linalg.norm(circles.X, axis=1)
    np.testing.assert_allclose(radius, np.where(circles.y == 0, 1.0, 0.3), rtol=1e-5)
    spiral = load_dataset("spiral:noise=0.0")
    assert np.linalg.norm(spiral.X, axis=1).max() <= 1.0 + 1e-6
    # samples are shuffled, not grouped by class
    assert len(np.unique(spiral.y[:10])) > 1


def test_xor_labels_follow_quadrants():
    ds = load_dataset("xor:n=400,noise=0.5", seed=3)
    expected = (ds.X[:, 0] > 0) ^ (ds.X[:, 1] > 0)
    np.testing.assert_array_equal(ds.y, expected.astype(np.int64))
    clean = load_dataset("xor:n=8,noise=0.0")
    assert sorted(map(tuple, clean.X.tolist())) == sorted([(-1, -1), (1, -1), (-1, 1), (1, 1)] * 2)


def test_sine_is_regression():
    ds = load_dataset("sine:n=200,noise=0.0", seed=1)
    assert ds.task == "regression" and ds.X.shape == (200, 1) and ds.y.shape == (200,)
    assert ds.y.dtype == np.float32 and ds.n_classes == 0 and ds.n_outputs == 1
    assert np.abs(ds.X).max() <= np.pi
    np.testing.assert_allclose(ds.y, np.sin(ds.X[:, 0]), atol=1e-6)


def test_bad_hyperparameters_raise_config_error():
    with pytest.raises(ConfigError, match=r"spiral: noise=-1.0 is out of range; allowed: 0.0 <= noise"):
        load_dataset("spiral:noise=-1")
    with pytest.raises(ConfigError, match="factor=1.5"):
        load_dataset("circles:factor=1.5")
    with pytest.raises(ConfigError, match="classes=1"):
        load_dataset("blobs:classes=1")
    with pytest.raises(SpecError, match="has no parameter 'nosie'; .*did you mean 'noise'"):
        load_dataset("moons:nosie=0.2")


def test_unknown_dataset_suggests_the_closest():
    with pytest.raises(UnknownComponentError, match="unknown dataset 'digit'.*did you mean 'digits'"):
        load_dataset("digit")
    with pytest.raises(UnknownComponentError, match="did you mean 'spiral'"):
        load_dataset("spirals")


def test_spec_round_trip_and_name():
    source = DATASETS.get("spiral:5,600")
    assert source.spec() == "spiral:classes=5,n=600,noise=0.2"
    assert DATASETS.get(source.spec()) == source
    assert load_dataset("spiral:5,600").name == source.spec()


def test_task_and_target_options_for_named_datasets():
    assert load_dataset("digits", task="classification").task == "classification"
    with pytest.raises(ConfigError, match="task=foo is not allowed; valid: classification, regression"):
        load_dataset("digits", task="foo")
    with pytest.raises(ConfigError, match="it is a classification dataset"):
        load_dataset("iris", task="regression")
    with pytest.raises(ConfigError, match="target"):
        load_dataset("iris", target="species")


def test_file_spec_detection(tmp_path):
    assert is_file_spec("data.csv") and is_file_spec("x.NPZ") and is_file_spec("dir/file")
    assert not is_file_spec("digits") and not is_file_spec("spiral:classes=5")
    assert not is_file_spec("mnist:path=data/mnist") and not is_file_spec("mnist:path=a.csv")
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(str(tmp_path / "missing.csv"))


def test_infer_task_rules():
    assert infer_task(np.array([0, 1, 1, 2])) == "classification"
    assert infer_task(np.array([0.0, 1.0, 2.0])) == "classification"
    assert infer_task(np.array(["a", "b"])) == "classification"
    assert infer_task(np.array([True, False])) == "classification"
    assert infer_task(np.array([0.5, 1.0])) == "regression"
    assert infer_task(np.arange(51)) == "regression"  # many distinct integers: a count, not labels
    assert infer_task(np.arange(50)) == "classification"
    assert infer_task(np.zeros((4, 2))) == "regression"


def test_dataset_checks_its_arrays():
    X = np.zeros((4, 2))
    with pytest.raises(DataError, match="X has 4 samples but y has shape \\(3,\\)"):
        Dataset(X, np.zeros(3, dtype=np.int64), "classification", "t")
    bad = X.copy()
    bad[1, 0] = np.nan
    bad[2, 1] = np.inf
    with pytest.raises(DataError, match="X has 2 NaN or infinite value\\(s\\) in 2 sample"):
        Dataset(bad, np.array([0, 1, 0, 1]), "classification", "t")
    with pytest.raises(DataError, match="y has 1 NaN"):
        Dataset(X, np.array([0.0, np.nan, 1.0, 2.0]), "regression", "t")
    with pytest.raises(DataError, match="label 5 is out of range for 2 classes"):
        Dataset(X, np.array([0, 1, 5, 1]), "classification", "t", classes=["a", "b"])
    with pytest.raises(DataError, match="no samples"):
        Dataset(np.zeros((0, 2)), np.zeros(0, dtype=np.int64), "classification", "t")
    with pytest.raises(ConfigError, match="task=clustering"):
        Dataset(X, np.zeros(4), "clustering", "t")
    ds = Dataset(X, np.array([0, 2, 2, 1]), "classification", "t")
    assert ds.classes == ["0", "1", "2"] and ds.info()["class_counts"] == [1, 1, 2]
    reg = Dataset(X, np.zeros((4, 3)), "regression", "t")
    assert reg.n_outputs == 3 and reg.y.dtype == np.float32


def test_every_dataset_spec_round_trips():
    for name in DATASETS.names():
        source = DATASETS.get(name)
        assert DATASETS.get(source.spec()) == source, name
    assert DATASETS.get("mnist").path == "auto" and DATASETS.get("cifar10").path == "auto"  # the cache
