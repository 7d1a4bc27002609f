"""Losses: gradients against finite differences, values by hand and against scikit-learn, stability."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import log_loss

from nnctl.core.errors import ConfigError, DataError, ShapeError
from nnctl.core.gradcheck import numerical_gradient, relative_error
from nnctl.core.losses import LOSSES, default_loss

N, C = 6, 4


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def classification_case(spec: str, seed: int = 0):
    """Logits and targets fitting ``spec`` (a classification loss), float64."""
    rng = _rng(seed)
    if LOSSES.get(spec).name == "binary_cross_entropy":
        return rng.standard_normal((N, 1)) * 2, rng.integers(0, 2, N)
    return rng.standard_normal((N, C)) * 2, rng.integers(0, C, N)


def regression_case(seed: int = 0, shape=(N, 3)):
    """Logits and targets whose differences stay away from 0 and from ±1 (the kinks of mae/huber)."""
    rng = _rng(seed)
    y = rng.standard_normal(shape)
    d = rng.choice([-1.0, 1.0], shape) * rng.choice([0.2, 0.5, 0.7, 1.5, 2.5], shape)
    return y + d, y


CASES = [
    ("mse", regression_case),
    ("quadratic", regression_case),
    ("mae", regression_case),
    ("huber", regression_case),
    ("huber:delta=0.6", regression_case),
    ("binary_cross_entropy", classification_case),
    ("cross_entropy", classification_case),
    ("cross_entropy:label_smoothing=0.1", classification_case),
    ("cross_entropy:label_smoothing=0.9", classification_case),
]


def case(spec: str, maker, seed: int = 0):
    return maker(spec, seed) if maker is classification_case else maker(seed)


# --- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec,maker", CASES, ids=[c[0] for c in CASES])
def test_gradient_matches_finite_differences(spec, maker):
    loss = LOSSES.get(spec)
    z, y = case(spec, maker)
    value, grad = loss.value_and_grad(z, y)
    assert value == pytest.approx(loss.value(z, y), rel=1e-14)
    assert grad.shape == z.shape and grad.dtype == np.float64
    numeric = numerical_gradient(lambda: loss.value(z, y), z)
    assert relative_error(grad, numeric) < 1e-6


@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_gradient_with_probability_targets(eps):
    rng = _rng(3)
    z = rng.standard_normal((N, C))
    t = rng.dirichlet(np.ones(C), N)
    loss = LOSSES.get(f"cross_entropy:label_smoothing={eps}")
    _, grad = loss.value_and_grad(z, t)
    assert relative_error(grad, numerical_gradient(lambda: loss.value(z, t), z)) < 1e-6


def test_regression_targets_of_shape_n_with_one_output():
    z = np.array([[1.0], [2.0], [-1.0]])
    y = np.array([0.5, 2.0, 1.0])
    for spec in ["mse", "mae", "huber", "quadratic"]:
        loss = LOSSES.get(spec)
        value, grad = loss.value_and_grad(z, y)
        assert grad.shape == (3, 1)
        assert value == pytest.approx(loss.value(z, y.reshape(-1, 1)))
        assert loss.value(z[:, 0], y.reshape(-1, 1)) == pytest.approx(value)


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    rng = _rng(1)
    z = rng.standard_normal((N, C))
    y = rng.integers(0, C, N)
    _, grad = LOSSES.get("cross_entropy").value_and_grad(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, (p - np.eye(C)[y]) / N, rtol=1e-12, atol=1e-15)


def test_binary_cross_entropy_gradient_is_p_minus_y_over_n():
    z = np.array([[-1.0], [0.0], [2.0]])
    y = np.array([1, 0, 1])
    _, grad = LOSSES.get("bce").value_and_grad(z, y)
    p = 1 / (1 + np.exp(-z[:, 0]))
    np.testing.assert_allclose(grad[:, 0], (p - y) / 3, rtol=1e-12)


# --- values by hand and against scikit-learn --------------------------------------------------------


def test_cross_entropy_of_uniform_logits_is_log_c():
    z = np.full((5, 7), 3.25)
    y = np.arange(5)
    assert LOSSES.get("cross_entropy").value(z, y) == pytest.approx(math.log(7), rel=1e-12)
    assert LOSSES.get("cross_entropy:label_smoothing=0.3").value(z, y) == pytest.approx(math.log(7), rel=1e-12)


def test_cross_entropy_values_by_hand():
    z = np.array([[1.0, 2.0, 3.0]])
    lse = math.log(math.e + math.e**2 + math.e**3)
    assert LOSSES.get("cross_entropy").value(z, [2]) == pytest.approx(lse - 3.0, rel=1e-12)
    assert LOSSES.get("cross_entropy").value(z, [2]) == pytest.approx(0.4076059644, rel=1e-9)
    # label smoothing 0.1 over 3 classes: target (0.1/3, 0.1/3, 0.9 + 0.1/3)
    t = np.array([0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3])
    expected = -float(np.sum(t * (z[0] - lse)))
    assert expected == pytest.approx(0.5076059644, rel=1e-9)  # PyTorch's value for these inputs
    assert LOSSES.get("cross_entropy:0.1").value(z, [2]) == pytest.approx(expected, rel=1e-12)


def test_label_smoothing_equals_smoothed_probability_targets():
    z, y = classification_case("cross_entropy", seed=4)
    eps = 0.25
    smoothed = (1 - eps) * np.eye(C)[y] + eps / C
    a = LOSSES.get(f"cross_entropy:label_smoothing={eps}").value_and_grad(z, y)
    b = LOSSES.get("cross_entropy").value_and_grad(z, smoothed)
    assert a[0] == pytest.approx(b[0], rel=1e-12)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-12, atol=1e-15)
    c = LOSSES.get("cross_entropy").value_and_grad(z, np.eye(C, dtype=np.int64)[y])  # one-hot rows
    d = LOSSES.get("cross_entropy").value_and_grad(z, y)
    assert c[0] == pytest.approx(d[0], rel=1e-12)
    np.testing.assert_allclose(c[1], d[1], rtol=1e-12, atol=1e-15)


def test_binary_cross_entropy_values_by_hand():
    loss = LOSSES.get("binary_cross_entropy")
    assert loss.value(np.zeros((4, 1)), [0, 1, 1, 0]) == pytest.approx(math.log(2), rel=1e-12)
    z = np.array([2.0, 2.0, -3.0])
    y = np.array([1, 0, 0])
    by_hand = [math.log(1 + math.exp(-2)), 2 + math.log(1 + math.exp(-2)), math.log(1 + math.exp(-3))]
    assert loss.value(z, y) == pytest.approx(np.mean(by_hand), rel=1e-12)
    assert loss.value(z.reshape(-1, 1), y.reshape(-1, 1)) == pytest.approx(np.mean(by_hand), rel=1e-12)


def test_against_scikit_learn_log_loss():
    rng = _rng(7)
    z = rng.standard_normal((200, 5)) * 3
    y = rng.integers(0, 5, 200)
    ce = LOSSES.get("cross_entropy")
    assert ce.value(z, y) == pytest.approx(log_loss(y, ce.output(z), labels=range(5)), rel=1e-9)
    zb = rng.standard_normal((200, 1)) * 3
    yb = rng.integers(0, 2, 200)
    bce = LOSSES.get("binary_cross_entropy")
    assert bce.value(zb, yb) == pytest.approx(log_loss(yb, bce.output(zb)[:, 0], labels=[0, 1]), rel=1e-9)


def test_regression_values_by_hand():
    z = np.array([[1.0], [2.0]])
    y = np.array([0.0, 0.0])
    value, grad = LOSSES.get("mse").value_and_grad(z, y)
    assert value == pytest.approx(2.5)
    np.testing.assert_allclose(grad, [[1.0], [2.0]])
    z3 = np.array([[1.0, 2.0, 2.0], [0.0, 1.0, -1.0]])
    value, grad = LOSSES.get("quadratic").value_and_grad(z3, np.zeros_like(z3))
    assert value == pytest.approx(0.5 * (9 + 2) / 2)  # ½‖z−y‖² per sample, mean over 2 samples
    np.testing.assert_allclose(grad, z3 / 2)
    assert LOSSES.get("mse").value(z3, np.zeros_like(z3)) == pytest.approx(11 / 6)
    assert LOSSES.get("mae").value(z3, np.zeros_like(z3)) == pytest.approx(7 / 6)
    d = np.array([0.5, -3.0])
    assert LOSSES.get("huber").value(d, np.zeros(2)) == pytest.approx((0.125 + 2.5) / 2)
    assert LOSSES.get("huber:delta=2.0").value(d, np.zeros(2)) == pytest.approx((0.125 + 4.0) / 2)
    _, g = LOSSES.get("huber:delta=2.0").value_and_grad(d, np.zeros(2))
    np.testing.assert_allclose(g, [0.25, -1.0])
    _, g = LOSSES.get("mae").value_and_grad(np.array([1.0, 0.0, -2.0]), np.zeros(3))
    np.testing.assert_allclose(g, [1 / 3, 0.0, -1 / 3])  # sign(0) = 0


# --- stability and dtypes --------------------------------------------------------------------------


@pytest.mark.parametrize("big", [1e3, 1e4])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_logits_are_finite_without_warnings(big, dtype):
    z = np.array([[big, -big, 0.0], [-big, big, 0.0], [big, big, -big]], dtype=dtype)
    y = np.array([1, 1, 2])
    zb = np.array([[big], [-big], [big], [-big]], dtype=dtype)
    yb = np.array([0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for spec in ["cross_entropy", "cross_entropy:label_smoothing=0.1"]:
            loss = LOSSES.get(spec)
            value, grad = loss.value_and_grad(z, y)
            assert math.isfinite(value) and np.all(np.isfinite(grad))
            assert np.allclose(loss.output(z).sum(axis=1), 1.0)
        value, grad = LOSSES.get("cross_entropy").value_and_grad(z, y)
        assert value == pytest.approx((2 * big + 0 + 2 * big + math.log(2)) / 3, rel=1e-6)
        np.testing.assert_allclose(grad[0], np.array([1, -1, 0]) / 3, atol=1e-7)
        bce = LOSSES.get("bce")
        value, grad = bce.value_and_grad(zb, yb)
        assert value == pytest.approx(big / 2, rel=1e-6)
        np.testing.assert_allclose(grad[:, 0], np.array([1, 0, 0, -1]) / 4, atol=1e-7)
        assert np.all(np.isfinite(bce.output(zb)))
        for spec in ["mse", "mae", "huber", "quadratic"]:
            value, grad = LOSSES.get(spec).value_and_grad(zb, np.zeros(4, dtype=dtype))
            assert math.isfinite(value) and np.all(np.isfinite(grad))


@pytest.mark.parametrize("spec,maker", CASES, ids=[c[0] for c in CASES])
def test_float32_in_float32_out(spec, maker):
    z, y = case(spec, maker)
    z32 = z.astype(np.float32)
    if maker is regression_case:
        y = y.astype(np.float64)  # float64 targets must not upcast the gradient
    loss = LOSSES.get(spec)
    value, grad = loss.value_and_grad(z32, y)
    assert isinstance(value, float)
    assert grad.dtype == np.float32 and grad.shape == z.shape
    assert loss.output(z32).dtype == np.float32
    np.testing.assert_allclose(grad, loss.value_and_grad(z, y)[1], rtol=1e-4, atol=1e-6)


def test_outputs_and_labels():
    rng = _rng(2)
    z = rng.standard_normal((N, C)) * 5
    ce = LOSSES.get("cross_entropy")
    p = ce.output(z)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    assert np.all(p > 0)
    np.testing.assert_array_equal(ce.predict_labels(z), np.argmax(p, axis=1))
    zb = np.array([[-2.0], [0.5], [3.0]])
    bce = LOSSES.get("binary_cross_entropy")
    np.testing.assert_allclose(bce.output(zb), 1 / (1 + np.exp(-zb)), rtol=1e-12)
    np.testing.assert_array_equal(bce.predict_labels(zb), [0, 1, 1])
    assert bce.predict_labels(zb).shape == (3,)
    assert LOSSES.get("mse").output(zb) is not None
    np.testing.assert_array_equal(LOSSES.get("mse").output(zb), zb)


def test_tasks_and_default_loss():
    for name in ["cross_entropy", "binary_cross_entropy"]:
        assert LOSSES.get(name).task == "classification"
        assert hasattr(LOSSES.get(name), "predict_labels")
    for name in ["mse", "mae", "huber", "quadratic"]:
        assert LOSSES.get(name).task == "regression"
    assert default_loss("classification", 10) == "cross_entropy"
    assert default_loss("classification", 2) == "cross_entropy"
    assert default_loss("classification", 1) == "binary_cross_entropy"
    assert default_loss("regression", 3) == "mse"
    with pytest.raises(ConfigError, match="task"):
        default_loss("clustering", 2)


# --- specs and errors ------------------------------------------------------------------------------


def test_every_loss_round_trips_through_spec():
    for name in LOSSES.names():
        loss = LOSSES.get(name)
        assert LOSSES.get(loss.spec()) == loss
        assert "logits" in (type(loss).__doc__ or "")
    for spec in ["huber:delta=2.5", "cross_entropy:label_smoothing=0.2", "ce:0.05"]:
        loss = LOSSES.get(spec)
        assert LOSSES.get(loss.spec()) == loss
    assert LOSSES.get("bce") == LOSSES.get("binary_cross_entropy")
    for alias in ["categorical_cross_entropy", "softmax_cross_entropy", "ce"]:
        assert LOSSES.get(alias) == LOSSES.get("cross_entropy")


BAD_SPECS = [
    "cross_entropy:label_smoothing=-0.1",
    "cross_entropy:label_smoothing=1.0",
    "ce:1.5",
    "huber:delta=0",
    "huber:-1.0",
    "huber:delta=abc",
]


@pytest.mark.parametrize("spec", BAD_SPECS)
def test_bad_hyperparameters_raise_config_error(spec):
    with pytest.raises(ConfigError, match=r"label_smoothing|delta"):
        LOSSES.get(spec)


def test_shape_and_target_errors_are_clear():
    ce, bce, mse = LOSSES.get("cross_entropy"), LOSSES.get("bce"), LOSSES.get("mse")
    z = np.zeros((4, 3))
    with pytest.raises(ShapeError, match=r"\(5,\).*\(4, 3\)"):
        ce.value(z, np.zeros(5, dtype=int))
    with pytest.raises(ShapeError, match="binary_cross_entropy"):
        ce.value(np.zeros((4, 1)), np.zeros(4, dtype=int))
    with pytest.raises(ShapeError, match=r"\(4,\)"):
        ce.value(np.zeros(4), np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=r"0\.\.2.*3"):
        ce.value(z, np.array([0, 1, 2, 3]))
    with pytest.raises(DataError, match="integers"):
        ce.value(z, np.array([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(ShapeError, match="cross_entropy"):
        bce.value(z, np.zeros(4, dtype=int))
    with pytest.raises(ShapeError, match=r"\(3,\)"):
        bce.value(np.zeros((4, 1)), np.zeros(3, dtype=int))
    with pytest.raises(DataError, match="0/1"):
        bce.value(np.zeros((4, 1)), np.array([0, 1, 2, 1]))
    with pytest.raises(ShapeError, match=r"\(4, 2\).*\(4, 3\)"):
        mse.value(z, np.zeros((4, 2)))
    with pytest.raises(ShapeError, match="empty"):
        mse.value(np.zeros((0, 1)), np.zeros(0))
