"""Convolution and pooling layers: gradients, a slow reference convolution, switches, shapes, specs."""

import math

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, ShapeError
from nnctl.core.gradcheck import build_for_check, check_layer, numerical_gradient, relative_error
from nnctl.core.layers.base import LAYERS, layer_from_config
from nnctl.core.layers.conv import Conv2D
from nnctl.core.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from nnctl.core.model import Model

CONV_CONFIGS = [
    # (filters, kernel, stride, padding, per-sample input shape)
    (3, 3, 1, "same", (2, 5, 5)),
    (2, 3, 2, "valid", (3, 7, 6)),
    (4, 1, 1, 1, (2, 3, 4)),
    (2, 5, 2, 2, (1, 6, 6)),
    (2, 2, 1, "same", (2, 4, 5)),  # even kernel: extra padding at the bottom/right
    (3, 3, 2, "same", (2, 6, 5)),
]


def built_conv(filters, kernel, stride, padding, shape, use_bias=True, seed=0):
    layer = Conv2D(filters, kernel=kernel, stride=stride, padding=padding, use_bias=use_bias)
    build_for_check(layer, shape)
    rng = np.random.default_rng(seed)
    for p in layer.params.values():
        p[...] = rng.standard_normal(p.shape)
    return layer


def reference_conv(x, W, b, stride, padding):
    """Direct cross-correlation with nested loops (test only)."""
    n, c, h, w = x.shape
    f, _, k, _ = W.shape
    if padding == "same":
        pads = []
        for size in (h, w):
            out = math.ceil(size / stride)
            total = max((out - 1) * stride + k - size, 0)
            pads.append((total // 2, total - total // 2))
    else:
        p = 0 if padding == "valid" else padding
        pads = [(p, p), (p, p)]
    xp = np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]))
    ho = (xp.shape[2] - k) // stride + 1
    wo = (xp.shape[3] - k) // stride + 1
    y = np.zeros((n, f, ho, wo))
    for s in range(n):
        for o in range(f):
            for i in range(ho):
                for j in range(wo):
                    patch = xp[s, :, i * stride : i * stride + k, j * stride : j * stride + k]
                    y[s, o, i, j] = np.sum(patch * W[o]) + (0.0 if b is None else b[o])
    return y


def reference_maxpool(x, size, stride):
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    y = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y[:, :, i, j] = x[:, :, i * stride : i * stride + size, j * stride : j * stride + size].max(axis=(2, 3))
    return y


def distinct(shape, seed=0):
    """Values all different and at least 0.01 apart, so max pooling has no ties or near-ties."""
    rng = np.random.default_rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape) * 0.01 - 1.0


@pytest.mark.parametrize("filters,kernel,stride,padding,shape", CONV_CONFIGS)
def test_conv_gradients_float64(filters, kernel, stride, padding, shape):
    layer = built_conv(filters, kernel, stride, padding, shape)
    x = np.random.default_rng(1).standard_normal((2, *shape))
    errors = check_layer(layer, x, np.random.default_rng(2))
    assert set(errors) == {"x", "W", "b"}
    assert max(errors.values()) < 1e-6, errors


def test_conv_gradients_without_bias():
    layer = built_conv(2, 3, 1, "same", (2, 4, 4), use_bias=False)
    assert set(layer.params) == {"W"}
    errors = check_layer(layer, np.random.default_rng(1).standard_normal((3, 2, 4, 4)), np.random.default_rng(2))
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("filters,kernel,stride,padding,shape", CONV_CONFIGS)
def test_conv_forward_matches_direct_convolution(filters, kernel, stride, padding, shape):
    layer = built_conv(filters, kernel, stride, padding, shape, seed=3)
    x = np.random.default_rng(4).standard_normal((3, *shape))
    y = layer.forward(x.copy())
    expected = reference_conv(x, layer.params["W"], layer.params["b"], stride, padding)
    assert y.shape == expected.shape == (3, *layer.output_shape)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)


def test_conv_same_padding_keeps_size_and_declares_pytorch_weight_layout():
    layer = Conv2D(8, kernel=3)
    model = Model([layer]).build((3, 10, 12), np.random.default_rng(0))
    assert layer.output_shape == (8, 10, 12)
    assert layer.params["W"].shape == (8, 3, 3, 3) and layer.params["b"].shape == (8,)
    w_spec, b_spec = layer.param_specs
    assert (w_spec.fan_in, w_spec.fan_out, w_spec.regularize) == (27, 72, True)
    assert b_spec.regularize is False
    assert model.n_decay == 8 * 3 * 3 * 3
    assert np.all(layer.params["b"] == 0)
    assert np.std(layer.params["W"]) == pytest.approx(math.sqrt(2 / 27), rel=0.3)  # he_normal


def test_chain_of_layers_gradients_through_the_model():
    """Layers hand each other non-contiguous (channel-major) arrays; the whole chain stays exact."""
    rng = np.random.default_rng(5)
    layers = [Conv2D(3, 3), MaxPool2D(2), Conv2D(2, 3, stride=2), AvgPool2D(2, stride=1), GlobalAvgPool2D()]
    model = Model(layers).build((2, 8, 8), np.random.default_rng(0), dtype=np.float64)
    model.params[:] = rng.standard_normal(model.params.size)
    x = rng.standard_normal((3, 2, 8, 8))
    r = rng.standard_normal((3, 2))
    model.forward(x, training=True)
    model.backward(r)
    analytic = model.grads.copy()
    numeric = numerical_gradient(lambda: float(np.sum(model.forward(x, training=True) * r)), model.params)
    assert relative_error(analytic, numeric) < 1e-6


@pytest.mark.parametrize(
    "size,stride,shape",
    [(2, None, (2, 4, 4)), (3, 2, (2, 7, 6)), (2, None, (1, 5, 5)), (2, 3, (1, 7, 7)), (2, 1, (2, 3, 4)),
     (3, None, (2, 7, 8)), (1, None, (2, 3, 3)), (4, 4, (1, 9, 8))],
)  # fmt: skip
def test_maxpool_gradients_and_forward(size, stride, shape):
    layer = MaxPool2D(size, stride)
    build_for_check(layer, shape)
    x = distinct((2, *shape))
    y = layer.forward(x)
    np.testing.assert_array_equal(y, reference_maxpool(x, size, stride or size))
    errors = check_layer(layer, x, np.random.default_rng(2))
    assert errors["x"] < 1e-6, errors


def test_maxpool_switches_route_gradient_only_to_the_argmax():
    layer = MaxPool2D(2)
    build_for_check(layer, (1, 4, 4))
    x = distinct((1, 1, 4, 4), seed=7)
    y = layer.forward(x)
    dx = layer.backward(np.ones_like(y))
    for i in range(2):
        for j in range(2):
            window = x[0, 0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2]
            u, v = np.unravel_index(np.argmax(window), (2, 2))
            assert layer.switches[0, 0, i, j] == 2 * u + v
            expected = np.zeros((2, 2))
            expected[u, v] = 1.0
            np.testing.assert_array_equal(dx[0, 0, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2], expected)


@pytest.mark.parametrize("size,shape", [(2, (3, 6, 6)), (2, (2, 7, 5)), (3, (2, 9, 7)), (4, (1, 8, 8))])
def test_maxpool_with_many_ties_routes_like_a_first_argmax_per_window(size, shape):
    """Non-overlapping windows take a separable fast path; with inputs drawn from {0, 1, 2} most
    windows tie, and every gradient must still go to the first maximum in row-major order."""
    layer = MaxPool2D(size)
    build_for_check(layer, shape)
    x = np.random.default_rng(size).integers(0, 3, (4, *shape)).astype(np.float32)
    y = layer.forward(x)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    dx = layer.backward(dy)
    expected = np.zeros_like(x)
    for n, c, i, j in np.ndindex(*y.shape):
        window = x[n, c, size * i : size * (i + 1), size * j : size * (j + 1)]
        u, v = np.unravel_index(np.argmax(window), window.shape)  # argmax returns the first maximum
        assert y[n, c, i, j] == window.max() and layer.switches[n, c, i, j] == size * u + v
        expected[n, c, size * i + u, size * j + v] = dy[n, c, i, j]
    np.testing.assert_array_equal(dx, expected)


def test_maxpool_ties_send_the_gradient_to_the_first_position_only():
    for stride in (None, 1):  # non-overlapping and overlapping windows
        layer = MaxPool2D(2, stride)
        build_for_check(layer, (1, 2, 3))
        x = np.ones((1, 1, 2, 3))
        y = layer.forward(x)
        dx = layer.backward(np.full(y.shape, 2.0))
        assert dx.sum() == 2.0 * y.size
        assert np.all(layer.switches == 0)
        assert dx[0, 0, 0, 0] == 2.0 and dx[0, 0, 1].sum() == 0.0


@pytest.mark.parametrize("size,stride,shape", [(2, None, (2, 4, 6)), (3, 1, (2, 5, 5)), (2, None, (1, 5, 3))])
def test_avgpool_gradients_and_forward(size, stride, shape):
    layer = AvgPool2D(size, stride)
    build_for_check(layer, shape)
    x = np.random.default_rng(1).standard_normal((2, *shape))
    st = stride or size
    y = layer.forward(x)
    ho, wo = layer.output_shape[1:]
    expected = np.array(
        [
            [
                [[x[n, c, i * st : i * st + size, j * st : j * st + size].mean() for j in range(wo)] for i in range(ho)]
                for c in range(shape[0])
            ]
            for n in range(2)
        ]
    )
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    assert check_layer(layer, x, np.random.default_rng(2))["x"] < 1e-6


def test_global_avg_pool():
    layer = GlobalAvgPool2D()
    build_for_check(layer, (3, 4, 5))
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(layer.forward(x), x.mean(axis=(2, 3)))
    assert layer.output_shape == (3,)
    assert check_layer(layer, x, np.random.default_rng(2))["x"] < 1e-6


def test_conv_on_tabular_input_says_to_use_dense_layers():
    with pytest.raises(ShapeError) as err:
        Model([Conv2D(8)]).build((64,), np.random.default_rng(0))
    assert "conv2d expects images (C, H, W); got input shape (64,) — use dense layers for tabular data" in str(
        err.value
    )


def test_kernel_larger_than_input_names_the_shapes():
    with pytest.raises(ShapeError, match=r"kernel 5x5 does not fit input shape \(1, 3, 3\)"):
        Model([Conv2D(2, kernel=5, padding="valid")]).build((1, 3, 3), np.random.default_rng(0))


@pytest.mark.parametrize("spec", ["maxpool:4", "avgpool:4", "global_avg_pool"])
def test_pool_errors_name_the_layer_and_shapes(spec):
    shape = (2, 3, 3) if spec != "global_avg_pool" else (12,)
    with pytest.raises(ShapeError) as err:
        Model([LAYERS.get(spec)]).build(shape, np.random.default_rng(0))
    message = str(err.value)
    assert spec.split(":")[0] in message and str(shape) in message
    if spec != "global_avg_pool":
        assert "pool 4x4 is larger than the input image" in message


def test_float32_stays_float32():
    layers = [Conv2D(4, 3), MaxPool2D(2), Conv2D(3, 3, stride=2, padding="valid"), AvgPool2D(2, 1), GlobalAvgPool2D()]
    model = Model(layers).build((2, 12, 12), np.random.default_rng(0), dtype=np.float32)
    x = np.random.default_rng(1).standard_normal((5, 2, 12, 12)).astype(np.float32)
    h = x
    for layer in layers:
        h = layer.forward(h, training=True)
        assert h.dtype == np.float32, layer.name
    d = np.ones_like(h)
    for layer in reversed(layers):
        layer.need_input_grad = True
        d = layer.backward(d)
        assert d.dtype == np.float32, layer.name
    assert model.grads.dtype == np.float32 and np.any(model.grads != 0)


def test_conv_does_not_modify_its_input():
    layer = built_conv(2, 3, 1, "same", (2, 4, 4))
    x = np.random.default_rng(1).standard_normal((2, 2, 4, 4))
    before = x.copy()
    y = layer.forward(x)
    layer.backward(np.ones_like(y))
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize(
    "spec",
    [
        "conv2d:16",
        "conv:8,kernel=5,stride=2,padding=valid",
        "conv2d:4,padding=1",
        "conv2d:4,kernel=2,use_bias=false",
        "maxpool",
        "max_pool:3,stride=2",
        "avgpool:2",
        "avg_pool:size=3,stride=1",
        "global_avg_pool",
        "gap",
    ],
)
def test_specs_and_configs_round_trip(spec):
    layer = LAYERS.get(spec)
    assert LAYERS.get(layer.spec()) == layer
    assert layer_from_config(layer.to_config()) == layer


def test_spec_values_parse_as_int_or_string():
    assert LAYERS.get("conv2d:4,padding=1").padding == 1
    assert LAYERS.get("conv2d:4,padding=valid").padding == "valid"
    assert Conv2D(4, padding="2").padding == 2
    assert isinstance(LAYERS.get("conv"), Conv2D) and LAYERS.get("conv").filters == 16
    assert isinstance(LAYERS.get("gap"), GlobalAvgPool2D)
    assert isinstance(LAYERS.get("max_pool"), MaxPool2D) and isinstance(LAYERS.get("avg_pool"), AvgPool2D)


@pytest.mark.parametrize(
    "spec,fragment",
    [
        ("conv2d:4,padding=full", "padding=full is not allowed; valid: same, valid, or an integer >= 0"),
        ("conv2d:0", "filters=0 is out of range"),
        ("conv2d:4,stride=0", "stride=0 is out of range"),
        ("conv2d:4,kernel=2.5", "kernel=2.5 is not allowed"),
        ("maxpool:0", "size=0 is out of range"),
        ("avgpool:2,stride=0", "stride=0 is out of range"),
    ],
)
def test_bad_hyperparameters_are_config_errors(spec, fragment):
    with pytest.raises(ConfigError, match=fragment):
        LAYERS.get(spec)


def test_conv_refuses_kernels_and_padding_that_would_only_see_zeros():
    """A 'same' kernel larger than the image, or padding larger than the image, builds huge im2col
    buffers of padding; both are refused when the model is built, before anything is allocated."""
    with pytest.raises(ShapeError, match="kernel 9x9 is larger than the input image 8x8; with padding=same"):
        built_conv(2, 9, 1, "same", (1, 8, 8))
    with pytest.raises(ConfigError, match="padding=9 is not allowed for a 8x8 input image"):
        built_conv(2, 3, 1, 9, (1, 8, 8))
    assert built_conv(2, 3, 1, 8, (1, 8, 8)).output_shape == (2, 22, 22)
