"""Activations: gradient checks for every one, known values, stability, dtypes, spec round-trips."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, ShapeError, TrainingError, UnknownComponentError
from nnctl.core.gradcheck import build_for_check, check_layer
from nnctl.core.layers.activations import ACTIVATIONS, SELU_ALPHA, SELU_SCALE
from nnctl.core.layers.base import LAYERS, Layer, layer_from_config
from nnctl.core.layers.smooth_activations import normal_cdf
from nnctl.core.model import Model

TOL = 1e-6
SHAPES = [(8,), (4, 3, 2)]
SMOOTH = ["sigmoid", "tanh", "elu", "selu", "swish", "swish:beta=1.7", "silu", "softplus", "gelu",
          "gelu:approximate=tanh", "softmax", "linear"]  # fmt: skip
KINKED = ["relu", "leaky_relu", "leaky_relu:alpha=0.2", "prelu", "prelu:alpha=-0.3", "rrelu", "elu:alpha=0.5"]


def away_from_zero(shape, seed=0, margin=0.05):
    """Standard-normal inputs pushed at least ``margin`` away from 0 (the kink of ReLU-like functions)."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return x + np.where(x >= 0, margin, -margin)


def make(spec: str, shape) -> Layer:
    layer = ACTIVATIONS.get(spec)
    build_for_check(layer, shape)
    return layer


def assert_gradients(errors: dict[str, float]) -> None:
    assert all(e < TOL for e in errors.values()), errors


# --- gradient checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("spec", SMOOTH + KINKED)
@pytest.mark.parametrize("training", [True, False])
def test_gradient_check(spec, shape, training):
    layer = make(spec, shape)
    x = away_from_zero((3, *shape)) * 2.0
    reseed = None
    if layer.name == "rrelu":  # the same random slopes on every forward pass
        reseed = lambda: setattr(layer, "rng", np.random.default_rng(11))  # noqa: E731
    assert_gradients(check_layer(layer, x, np.random.default_rng(1), training=training, reseed=reseed))


@pytest.mark.parametrize("shape, slope_shape", [((7,), (7,)), ((4, 3, 2), (4, 1, 1))])
def test_prelu_slope_gradient_and_shape(shape, slope_shape):
    layer = make("prelu", shape)
    assert layer.params["alpha"].shape == slope_shape
    np.testing.assert_array_equal(layer.params["alpha"], 0.25)
    layer.params["alpha"][...] = np.linspace(-0.5, 0.9, layer.params["alpha"].size).reshape(slope_shape)
    errors = check_layer(layer, away_from_zero((5, *shape), seed=3), np.random.default_rng(2))
    assert set(errors) == {"x", "alpha"}
    assert_gradients(errors)


def test_prelu_is_not_regularized_and_grads_written_without_input_grad():
    model = Model([ACTIVATIONS.get("prelu")]).build((3, 2, 2), np.random.default_rng(0), dtype=np.float64)
    assert model.n_decay == 0 and model.n_params == 3
    layer = model.layers[0]
    assert layer.need_input_grad is False
    x = away_from_zero((4, 3, 2, 2))
    layer.forward(x, training=True)
    model.grads[...] = np.nan
    assert layer.backward(np.ones_like(x)) is None
    np.testing.assert_allclose(layer.grads["alpha"].ravel(), np.minimum(x, 0).sum(axis=(0, 2, 3)))


@pytest.mark.parametrize("shape", SHAPES)
def test_maxout_gradient(shape):
    layer = make("maxout:pieces=2" if len(shape) > 1 else "maxout:pieces=4", shape)
    assert_gradients(check_layer(layer, away_from_zero((3, *shape)), np.random.default_rng(4)))


def test_maxout_groups_consecutive_units_and_channels():
    layer = make("maxout:pieces=3", (6,))
    assert layer.output_shape == (2,)
    x = np.array([[1.0, 5.0, 2.0, -1.0, -3.0, -2.0]])
    np.testing.assert_array_equal(layer.forward(x), [[5.0, -1.0]])
    np.testing.assert_array_equal(layer.backward(np.array([[10.0, 20.0]])), [[0, 10, 0, 20, 0, 0]])
    image = make("maxout", (4, 2, 3))
    assert image.output_shape == (2, 2, 3)
    x = np.random.default_rng(0).standard_normal((2, 4, 2, 3))
    np.testing.assert_array_equal(image.forward(x), np.maximum(x[:, 0::2], x[:, 1::2]))


def test_maxout_routes_ties_to_the_first_piece_only():
    layer = make("maxout:pieces=3", (3,))
    x = np.zeros((1, 3))
    layer.forward(x)
    np.testing.assert_array_equal(layer.backward(np.array([[1.0]])), [[1.0, 0.0, 0.0]])


def test_maxout_shape_error_names_the_shapes():
    with pytest.raises(ShapeError, match=r"maxout:pieces=3.*divisible by 3.*\(10,\)"):
        make("maxout:pieces=3", (10,))
    with pytest.raises(ShapeError, match=r"channels.*\(5, 4, 4\)"):
        make("maxout", (5, 4, 4))


def test_rrelu_training_draws_slopes_and_evaluation_uses_their_mean():
    layer = make("rrelu", (1000,))
    x = -np.ones((2, 1000))
    slopes = -layer.forward(x, training=True)
    assert slopes.min() >= 0.125 and slopes.max() <= 1 / 3 and slopes.std() > 0.05
    np.testing.assert_allclose(layer.forward(x, training=False), -(0.125 + 1 / 3) / 2)
    np.testing.assert_array_equal(layer.forward(-x, training=True), 1.0)
    assert layer.has_training_mode


def test_step_cannot_be_trained():
    layer = make("step", (3,))
    assert layer.differentiable is False
    np.testing.assert_array_equal(layer.forward(np.array([[-2.0, 0.0, 3.0]])), [[0.0, 1.0, 1.0]])
    with pytest.raises(TrainingError, match="step.*zero everywhere"):
        layer.backward(np.ones((1, 3)))
    with pytest.raises(TrainingError):
        Model([LAYERS.get("dense:4"), ACTIVATIONS.get("step")]).build((3,), np.random.default_rng(0)).check_trainable()


# --- known values -------------------------------------------------------------------------------------


def forward(spec: str, values, dtype=np.float64) -> np.ndarray:
    x = np.atleast_2d(np.asarray(values, dtype=dtype))
    layer = ACTIVATIONS.get(spec)
    Model([layer]).build(x.shape[1:], np.random.default_rng(0), dtype=dtype)
    return layer.forward(x, training=False)[0]


def test_known_values():
    np.testing.assert_array_equal(forward("relu", [-1.0, 0.0, 2.0]), [0.0, 0.0, 2.0])
    np.testing.assert_allclose(forward("leaky_relu", [-1.0, 3.0]), [-0.01, 3.0])
    np.testing.assert_allclose(forward("leaky_relu:alpha=0.2", [-2.0]), [-0.4])
    np.testing.assert_allclose(forward("prelu", [-2.0, 2.0]), [-0.5, 2.0])
    np.testing.assert_allclose(forward("sigmoid", [0.0, 2.0]), [0.5, 1 / (1 + math.exp(-2))], rtol=1e-15)
    np.testing.assert_allclose(forward("tanh", [0.5]), [math.tanh(0.5)], rtol=1e-15)
    np.testing.assert_allclose(forward("elu", [-1.0, 1.0]), [math.expm1(-1.0), 1.0])
    np.testing.assert_allclose(forward("softplus", [0.0, 1.0]), [math.log(2), math.log1p(math.e)])
    np.testing.assert_allclose(forward("swish", [1.0]), [1 / (1 + math.exp(-1))], rtol=1e-15)
    np.testing.assert_allclose(forward("swish:beta=2.0", [1.0]), [1 / (1 + math.exp(-2))], rtol=1e-15)
    np.testing.assert_allclose(forward("silu", [-1.5]), forward("swish:beta=1.0", [-1.5]))
    np.testing.assert_allclose(forward("softmax", [1.0, 2.0, 3.0]), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())
    np.testing.assert_array_equal(forward("linear", [-3.0, 4.0]), [-3.0, 4.0])


def test_selu_constants():
    assert SELU_ALPHA == pytest.approx(1.6732632423543772, rel=1e-15)
    assert SELU_SCALE == pytest.approx(1.0507009873554805, rel=1e-15)
    np.testing.assert_allclose(forward("selu", [1.0, -1.0]), [SELU_SCALE, SELU_SCALE * SELU_ALPHA * math.expm1(-1)])
    # self-normalizing: N(0, 1) inputs keep mean ≈ 0 and variance ≈ 1
    y = forward("selu", np.random.default_rng(0).standard_normal(200_000))
    assert abs(y.mean()) < 0.01 and abs(y.var() - 1) < 0.01


def test_gelu_matches_erf_and_tanh_form():
    xs = np.linspace(-12, 12, 2001)
    exact = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in xs])
    np.testing.assert_allclose(forward("gelu", xs), exact, rtol=0, atol=1e-11)
    c = math.sqrt(2 / math.pi)
    approx = 0.5 * xs * (1 + np.tanh(c * (xs + 0.044715 * xs**3)))
    np.testing.assert_allclose(forward("gelu:approximate=tanh", xs), approx, rtol=1e-14, atol=1e-15)
    phi, _ = normal_cdf(np.array([-40.0, 0.0, 40.0]))
    np.testing.assert_allclose(phi, [0.0, 0.5, 1.0], atol=1e-30)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_are_finite_without_warnings(dtype):
    x = [-1000.0, -50.0, -1e-30, 0.0, 50.0, 1000.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for spec in ACTIVATIONS.names():
            y = forward(spec, x, dtype)
            assert np.all(np.isfinite(y)), (spec, y)
        np.testing.assert_array_equal(forward("sigmoid", [-1000.0, 1000.0], dtype), [0.0, 1.0])
        np.testing.assert_allclose(forward("softplus", [-1000.0, 1000.0, 30.0], dtype), [0.0, 1000.0, 30.0])
        np.testing.assert_allclose(forward("softmax", [1000.0, 0.0, -1000.0], dtype), [1.0, 0.0, 0.0])
        np.testing.assert_allclose(forward("gelu", [-1000.0, 1000.0], dtype), [0.0, 1000.0])
        np.testing.assert_allclose(forward("elu", [-1000.0], dtype), [-1.0])


def test_bounds_and_gains():
    get = ACTIVATIONS.get
    assert get("sigmoid").bounds == (0.0, 1.0) and get("tanh").bounds == (-1.0, 1.0)
    assert get("relu").bounds is None and get("elu").bounds is None
    assert get("relu").gain == pytest.approx(math.sqrt(2))
    assert get("tanh").gain == pytest.approx(5 / 3)
    assert get("leaky_relu:alpha=0.2").gain == pytest.approx(math.sqrt(2 / 1.04))
    assert get("selu").gain == get("linear").gain == get("sigmoid").gain == 1.0


# --- dtypes, shapes, need_input_grad ------------------------------------------------------------------


@pytest.mark.parametrize("spec", [n for n in ACTIVATIONS.names() if n != "step"] + ["gelu:approximate=tanh"])
@pytest.mark.parametrize("shape", SHAPES)
def test_float32_stays_float32(spec, shape):
    layer = ACTIVATIONS.get(spec)
    Model([layer]).build(shape, np.random.default_rng(0), dtype=np.float32)
    layer.need_input_grad = True
    x = away_from_zero((5, *shape)).astype(np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32 and y.shape == (5, *layer.output_shape)
    dy = np.ones_like(y)
    dx = layer.backward(dy)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    np.testing.assert_array_equal(dy, 1.0)  # dy is never modified in place
    layer.need_input_grad = False
    layer.forward(x, training=True)
    assert layer.backward(dy) is None


# --- specs and errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATIONS.names())
def test_every_activation_round_trips(name):
    act = ACTIVATIONS.get(name)
    assert isinstance(act, Layer) and act.kind == "activation"
    assert ACTIVATIONS.get(act.spec()) == act
    assert layer_from_config(act.to_config()) == act
    assert name in LAYERS and LAYERS.lookup(name) is type(act)  # one registry: activations are layers


@pytest.mark.parametrize(
    "spec",
    ["leaky_relu:alpha=0.2", "prelu:alpha=0.1", "rrelu:lower=0.1,upper=0.5", "elu:alpha=0.5", "swish:beta=2.0",
     "gelu:approximate=tanh", "maxout:pieces=4"],
)  # fmt: skip
def test_nondefault_specs_round_trip(spec):
    act = ACTIVATIONS.get(spec)
    assert ACTIVATIONS.get(act.spec()) == act
    assert act.get_config() == ACTIVATIONS.get(act.spec()).get_config()


@pytest.mark.parametrize(
    "spec, pattern",
    [
        ("leaky_relu:alpha=-0.1", r"leaky_relu: alpha=-0\.1 is out of range; allowed: 0\.0 <= alpha <= 1\.0"),
        ("rrelu:lower=0.5,upper=0.2", r"rrelu: upper=0\.2 is out of range; allowed: 0\.5 <= upper"),
        ("elu:alpha=-1.0", r"elu: alpha=-1\.0 is out of range"),
        ("swish:beta=-1.0", r"swish: beta=-1\.0 is out of range"),
        ("maxout:pieces=0", r"maxout: pieces=0 is out of range; allowed: 1 <= pieces"),
        ("gelu:approximate=erf", r"gelu: approximate=erf is not allowed; valid: none, tanh"),
    ],
)
def test_bad_values_raise_config_error(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        ACTIVATIONS.get(spec)


def test_unknown_activation_suggests_closest():
    with pytest.raises(UnknownComponentError, match=r"unknown activation 'reul'.*did you mean 'relu'"):
        ACTIVATIONS.get("reul")
