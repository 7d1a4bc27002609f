"""Numerical robustness: every registered loss and activation stays finite at extreme inputs, and
inputs of other dtypes (float16, integers) are converted to float32 explicitly before training.

The loss and activation tests are parametrized over the registries, so a newly registered component
is covered without editing this file.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import make_run, one_line_error

from nnctl.core.errors import ShapeError, TrainingError
from nnctl.core.layers.activations import ACTIVATIONS
from nnctl.core.losses import LOSSES
from nnctl.core.model import Model
from nnctl.data import load_dataset, split_dataset

DTYPES = [np.float32, np.float64]
#: Extreme and delicate inputs: huge logits, exact zero, denormal-sized, and probabilities at 0/1.
EXTREMES = [-1e30, -1e4, -1.0, -1e-30, 0.0, 1e-30, 1e-7, 1 - 1e-7, 1.0, 1e4, 1e30, 0.5]


def finite(a) -> bool:
    return bool(np.all(np.isfinite(a)))


# --- losses ------------------------------------------------------------------------------------------


def loss_cases(loss, dtype):
    """(logits, targets) pairs for ``loss``: each extreme logit against targets at 0, near 0, near 1, 1.

    Classification losses are tried with C = 3 logits per sample and, if they need one logit, C = 1;
    targets are hard labels and probabilities (1e-30 and 1 − 1e-7 for soft targets).
    """
    big = np.array([1e30, 1e4, 0.0, -1e4, -1e30], dtype=dtype)
    if loss.task == "regression":
        z = np.repeat(big, 4)[:, None]
        y = np.tile([0.0, 1e-30, 1 - 1e-7, 1.0], len(big))
        return [(z, y)]
    try:  # several logits per sample
        z = np.stack([big, -big, np.zeros_like(big)], axis=1)
        hard = np.array([0, 1, 2, 0, 1])
        soft = np.array(
            [[1 - 1e-7, 1e-7, 0.0], [1e-30, 1 - 1e-30, 0.0], [0, 0, 1.0], [1 / 3, 1 / 3, 1 / 3], [0.5, 1e-30, 0.5]]
        )
        loss.value_and_grad(z, hard)
        return [(z, hard), (z, soft)]
    except ShapeError:  # one logit per sample
        z = np.repeat(big, 4)[:, None]
        hard = np.tile([0, 1, 1, 0], len(big))
        soft = np.tile([1e-30, 1 - 1e-7, 0.5, 0.0], len(big))
        return [(z, hard), (z, soft)]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_is_finite_at_extreme_logits(name, dtype):
    loss = LOSSES.get(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow/invalid RuntimeWarning either
        for z, y in loss_cases(loss, dtype):
            value, grad = loss.value_and_grad(z, y)
            assert math.isfinite(value), (name, value)
            assert finite(grad) and grad.dtype == dtype and grad.shape == z.shape, (name, grad)
            assert math.isfinite(loss.value(z, y))
            assert finite(loss.output(z))


def test_mse_of_huge_float32_errors_is_finite():
    """(1e30)² overflows float32; the mean is accumulated in float64 and stays exact."""
    z = np.array([[1e30], [-1e30]], dtype=np.float32)
    for name, expected in [("mse", 1e60), ("quadratic", 0.5e60)]:
        value, grad = LOSSES.get(name).value_and_grad(z, np.zeros(2))
        assert value == pytest.approx(expected, rel=1e-6) and grad.dtype == np.float32


# --- activations -------------------------------------------------------------------------------------


def built(name, dtype, n_features):
    layer = ACTIVATIONS.get(name)
    Model([layer]).build((n_features,), np.random.default_rng(0), dtype=dtype)
    layer.need_input_grad = True
    return layer


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_is_finite_at_extreme_inputs(name, dtype):
    x = np.array([EXTREMES, EXTREMES[::-1]], dtype=dtype)  # an even width, for maxout's pairs
    layer = built(name, dtype, x.shape[1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for training in (True, False):
            y = layer.forward(x.copy(), training=training)
            assert finite(y) and y.dtype == dtype, (name, y)
            if layer.bounds is not None:
                lo, hi = layer.bounds
                assert np.all((y >= lo) & (y <= hi)), (name, y)
            if not getattr(layer, "differentiable", True):
                with pytest.raises(TrainingError):
                    layer.backward(np.ones_like(y))
                continue
            dx = layer.backward(np.ones_like(y))
            assert finite(dx) and dx.dtype == dtype and dx.shape == x.shape, (name, dx)


# --- dtypes of the data ------------------------------------------------------------------------------


def learnable(n=60, seed=0):
    X = np.random.default_rng(seed).standard_normal((n, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


def write_int_csv(tmp_path):
    X, y = learnable()
    frame = pd.DataFrame((X * 10).round().astype(np.int64), columns=["a", "b", "c"])
    frame["label"] = y
    path = tmp_path / "ints.csv"
    frame.to_csv(path, index=False)
    return path, "int64"


def write_npz(dtype):
    def write(tmp_path):
        X, y = learnable()
        X = (X * 10).round().astype(dtype) if np.dtype(dtype).kind == "i" else X.astype(dtype)
        path = tmp_path / f"{np.dtype(dtype).name}.npz"
        np.savez(path, X=X, y=y)
        return path, np.dtype(dtype).name

    return write


SOURCES = [write_int_csv, write_npz(np.int64), write_npz(np.float16), write_npz(np.uint8)]


@pytest.mark.parametrize("write", SOURCES, ids=["csv-int64", "npz-int64", "npz-float16", "npz-uint8"])
def test_integer_and_float16_inputs_are_converted_to_float32(tmp_path, write):
    """The loader converts explicitly and remembers the type it read; training then runs in float32."""
    path, source = write(tmp_path)
    ds = load_dataset(str(path))
    assert ds.X.dtype == np.float32 and ds.source_dtype == source
    assert ds.info()["dtype"] == "float32" and ds.info()["source_dtype"] == source
    assert split_dataset(ds).X_train.dtype == np.float32

    make_run(tmp_path / "results", "--data", path, epochs=2)
    (run,) = (tmp_path / "results").iterdir()
    config = json.loads((run / "config.json").read_text())
    assert config["config"]["dtype"] == "float32"
    assert config["data"]["dtype"] == "float32" and config["data"]["source_dtype"] == source
    with np.load(run / "weights.npz", allow_pickle=False) as weights:
        assert {weights[k].dtype for k in weights.files} == {np.dtype(np.float32)}
    curve = pd.read_csv(run / "curve.csv")
    assert finite(curve[["train_loss", "val_loss"]].to_numpy())
    assert pd.read_csv(run / "metrics.csv")["status"][0] == "completed"


def test_features_too_large_to_square_in_float32_are_standardized(tmp_path):
    """A feature of magnitude 1e20 squares beyond float32; its std comes from float64, not inf."""
    X, y = learnable()
    X[:, 2] *= 1e20
    splits = split_dataset(load_dataset(_npz(tmp_path, X, y)))
    assert finite(splits.standardizer.std) and splits.standardizer.std[2] == pytest.approx(1e20, rel=0.5)
    assert finite(splits.X_train) and abs(float(splits.X_train[:, 2].std()) - 1.0) < 1e-3


def test_values_beyond_float32_are_refused_not_turned_into_inf(tmp_path):
    X, y = learnable()
    X[4, 1] = 1e39
    err = one_line_error("train", "--results-dir", tmp_path / "results", "--data", _npz(tmp_path, X, y))
    assert "X has 1 value(s) beyond the float32 range" in err and "e.g. 1e+39" in err
    assert not (tmp_path / "results").exists()


def _npz(tmp_path, X, y) -> str:
    path = tmp_path / "data.npz"
    np.savez(path, X=X, y=y)
    return str(path)
