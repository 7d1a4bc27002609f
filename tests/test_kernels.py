"""Compiled kernels against their NumPy formulas (written out here), and against the NumPy path.

Each kernel is checked in float64 to 1e-12 and in float32 to rounding (a few ulps of the result,
the reference computed in float64), on odd sizes (not multiples of a work item or a vector), empty
inputs, and non-contiguous or channel-major inputs. Threaded runs must give the same bits as
one-thread runs. The finite-difference gradient checks and the optimizer formula checks live in
their own modules and run on whichever path is active (the kernels by default).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numba")

from nnctl.core import kernels  # noqa: E402
from nnctl.core.errors import ConfigError  # noqa: E402
from nnctl.core.kernels import _compile  # noqa: E402
from nnctl.core.kernels import ops as K  # noqa: E402
from nnctl.core.kernels.images import empty_planes, planes  # noqa: E402
from nnctl.core.layers.activations import ACTIVATIONS  # noqa: E402
from nnctl.core.layers.conv import Conv2D  # noqa: E402
from nnctl.core.layers.dense import Dense  # noqa: E402
from nnctl.core.layers.pooling import AvgPool2D, MaxPool2D  # noqa: E402
from nnctl.core.losses import LOSSES  # noqa: E402
from nnctl.core.optimizers import OPTIMIZERS  # noqa: E402

CHUNK = _compile.CHUNK
ODD_SIZES = [0, 1, 7, 33, CHUNK - 1, CHUNK + 5, 2 * CHUNK + 3]
DTYPES = [np.float64, np.float32]


def close(got, want, dtype, scale=None):
    """float64: to 1e-12; float32: to rounding, i.e. within a few ulps of the value (or of
    ``scale``, the size of the terms that were summed)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * (1.0 if scale is None else scale))
    else:
        eps = np.finfo(np.float32).eps
        np.testing.assert_allclose(got, want, rtol=8 * eps, atol=8 * eps * (1e-30 if scale is None else scale))


@pytest.fixture
def threaded(monkeypatch):
    """Run kernels on two threads, whatever the size (the size threshold set to one element)."""
    monkeypatch.setattr(_compile, "PARALLEL_MIN", 1)
    with kernels.threads(2):
        yield


def rng_array(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


# --- switching paths -------------------------------------------------------------------------------------


def test_kernels_are_active_by_default_and_can_be_switched_off(monkeypatch):
    assert kernels.available() and kernels.active() is K
    with kernels.use(False):
        assert kernels.active() is None
        with kernels.use(True):
            assert kernels.active() is K
    assert kernels.active() is K


def test_environment_variable_selects_the_path(monkeypatch):
    monkeypatch.setattr(kernels, "_ops", kernels._UNSET)
    monkeypatch.setenv(kernels.ENV, "numpy")
    assert kernels.active() is None
    monkeypatch.setattr(kernels, "_ops", kernels._UNSET)
    monkeypatch.setenv(kernels.ENV, "fortran")
    with pytest.raises(ConfigError, match="NNCTL_KERNELS='fortran' is not allowed; allowed: auto, numba, numpy"):
        kernels.active()
    for choice in ("numba", "auto"):
        monkeypatch.setattr(kernels, "_ops", kernels._UNSET)
        monkeypatch.setenv(kernels.ENV, choice)
        assert kernels.active() is K
    monkeypatch.delenv(kernels.ENV)
    assert kernels.mode() == "auto"


def built(spec, shape, batch_dtype=np.float32):
    from nnctl.core.grammar import build_layers
    from nnctl.core.model import Model

    return Model(build_layers(spec, n_outputs=10)).build(shape, np.random.default_rng(0), batch_dtype)


def test_auto_keeps_small_models_on_the_numpy_path(monkeypatch):
    monkeypatch.delenv(kernels.ENV, raising=False)
    small, large = built("mlp:128,64", (64,)), built("mlp:512,256", (784,))
    assert kernels.step_values(small, 32) < kernels.AUTO_MIN <= kernels.step_values(large, 32)
    with kernels.for_model(small, 32) as compiled:
        assert not compiled and kernels.active() is None
    with kernels.for_model(large, 32) as compiled:
        assert compiled and kernels.active() is K
    monkeypatch.setenv(kernels.ENV, "numba")
    with kernels.for_model(small, 32) as compiled:
        assert compiled and kernels.active() is K
    monkeypatch.setenv(kernels.ENV, "numpy")
    monkeypatch.setattr(kernels, "_ops", kernels._UNSET)
    with kernels.for_model(large, 32) as compiled:
        assert not compiled and kernels.active() is None


def test_the_path_is_chosen_per_thread():
    import threading

    seen = {}

    def other():
        seen["other"] = kernels.active()

    with kernels.use(False):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert kernels.active() is None
    assert seen["other"] is K


def test_thread_count_is_per_block_and_one_outside():
    assert kernels.thread_count() == 1
    with kernels.threads(2):
        assert kernels.thread_count() == 2
        with kernels.threads(None):
            assert kernels.thread_count() == 2
    assert kernels.thread_count() == 1


def test_warm_up_loads_one_thread_kernels():
    kernels.warm_up()
    assert K.elementwise.relu.serial.signatures


# --- optimizers: one pass, the same bits as the NumPy chain ------------------------------------------------

OPTIMIZER_SPECS = [
    "sgd",
    "sgd:weight_decay=0.1",
    "momentum:dampening=0.1,weight_decay=0.1",
    "momentum",
    "nesterov:weight_decay=0.1",
    "adagrad:initial_accumulator=0.1,weight_decay=0.1",
    "rmsprop:weight_decay=0.1",
    "rmsprop:momentum=0.9,centered=true,weight_decay=0.1",
    "adadelta:weight_decay=0.1",
    "adam",
    "adam:amsgrad=true,weight_decay=0.1",
    "adamw",
    "adamw:amsgrad=true",
    "nadam:weight_decay=0.1",
]


def optimizer_run(spec, p0, grads, n_decay, enabled):
    with kernels.use(enabled):
        opt = OPTIMIZERS.get(spec)
        p = p0.copy()
        opt.setup(p, n_decay)
        for t, g in enumerate(grads):
            opt.step(p, g, lr=0.01 * (1 + t))
    return p, opt.state


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("spec", OPTIMIZER_SPECS)
def test_optimizer_kernel_gives_the_bits_of_the_numpy_path(spec, dtype):
    rng = np.random.default_rng(3)
    for n in (0, 1, 7, 2 * CHUNK + 3):
        p0 = rng_array(rng, n, dtype)
        grads = [rng_array(rng, n, dtype) * s for s in (1.0, 0.5, 2.0)]
        for n_decay in {0, n // 2, n}:
            got, state = optimizer_run(spec, p0, grads, n_decay, True)
            want, ref = optimizer_run(spec, p0, grads, n_decay, False)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want, err_msg=f"{spec} n={n} n_decay={n_decay}")
            for key in ref:
                np.testing.assert_array_equal(state[key], ref[key], err_msg=f"{spec} {key}")


@pytest.mark.parametrize("spec", OPTIMIZER_SPECS)
def test_optimizer_kernel_threads_give_the_same_bits(spec, threaded):
    rng = np.random.default_rng(4)
    n = 3 * CHUNK + 11
    p0 = rng_array(rng, n, np.float32)
    grads = [rng_array(rng, n, np.float32) for _ in range(3)]
    two, _ = optimizer_run(spec, p0, grads, n // 3, True)
    with kernels.threads(1):
        one, _ = optimizer_run(spec, p0, grads, n // 3, True)
    np.testing.assert_array_equal(two, one)


def test_optimizer_takes_the_numpy_path_for_buffers_it_cannot_take():
    rng = np.random.default_rng(5)
    p0 = rng_array(rng, 20, np.float64)
    g = rng_array(rng, 40, np.float64)[::2]  # not contiguous
    opt = OPTIMIZERS.get("adam")
    p = p0.copy()
    opt.setup(p, 10)
    opt.step(p, g, lr=0.1)
    with kernels.use(False):
        ref = OPTIMIZERS.get("adam")
        q = p0.copy()
        ref.setup(q, 10)
        ref.step(q, np.ascontiguousarray(g), lr=0.1)
    np.testing.assert_array_equal(p, q)


def test_optimizer_state_below_the_smallest_normal_is_flushed_to_zero():
    tiny = np.finfo(np.float32).tiny
    opt = OPTIMIZERS.get("momentum:momentum=0.5")
    p = np.zeros(3, np.float32)
    opt.setup(p, 0)
    opt.step(p, np.array([4 * tiny, 1.0, -4 * tiny], np.float32))
    opt.step(p, np.zeros(3, np.float32))  # b = 2·tiny: still normal
    opt.step(p, np.zeros(3, np.float32))  # b would be tiny·1.0: normal; next step denormal
    opt.step(p, np.zeros(3, np.float32))
    b = opt.state["momentum_buffer"]
    assert b[0] == 0.0 and b[2] == 0.0 and b[1] == 0.5**3


# --- elementwise ------------------------------------------------------------------------------------------

ALPHA = 0.01


def elementwise_cases(rng, dtype, n):
    x = rng_array(rng, n, dtype)
    x[: min(n, 3)] = [0.0, -0.0, 1.0][: min(n, 3)]
    dy = rng_array(rng, n, dtype)
    return x, dy


# (kernel, NumPy formula evaluated in float64, inputs builder, scalars)
ELEMENTWISE = {
    "relu": (lambda x, dy: np.maximum(x, 0.0), lambda x, dy: (x,), (0.0,)),
    "relu_backward": (lambda x, dy: dy * (np.maximum(x, 0) > 0), lambda x, dy: (np.maximum(x, 0), dy), (0.0, 1.0)),
    "leaky_relu": (lambda x, dy: np.maximum(x, ALPHA * x), lambda x, dy: (x,), (ALPHA,)),
    "slope_backward": (lambda x, dy: dy * np.where(x <= 0, ALPHA, 1.0), lambda x, dy: (x, dy), (ALPHA - 1, 0.0, 1.0)),
    "sigmoid_backward": (
        lambda x, dy: dy * (1 / (1 + np.exp(-x))) * (1 - 1 / (1 + np.exp(-x))),
        lambda x, dy: (1 / (1 + np.exp(-x)), dy),
        (1.0,),
    ),
    "tanh_backward": (lambda x, dy: dy * (1 - np.tanh(x) ** 2), lambda x, dy: (np.tanh(x), dy), (1.0,)),
    "elu_backward": (
        lambda x, dy: dy * np.where(x > 0, 1.0, 1.5 * np.exp(np.minimum(x, 0))),
        lambda x, dy: (x, 1.5 * np.expm1(np.minimum(x, 0)), dy),
        (0.0 - 0.5, 1.5, 0.0),  # scale 1, α 1.5: above = 1 − α, below = α
    ),
    "swish_backward": (
        lambda x, dy: dy * (_sig(2 * x) + 2 * x * _sig(2 * x) * (1 - _sig(2 * x))),
        lambda x, dy: (_sig(2 * x), x * _sig(2 * x), dy),
        (2.0, True, 1.0),
    ),
}


def _sig(t):
    return 1 / (1 + np.exp(-t))


def run_elementwise(name, x, dy):
    formula, inputs, scalars = ELEMENTWISE[name]
    arrays = tuple(np.asarray(a, x.dtype) for a in inputs(x.astype(np.float64), dy.astype(np.float64)))
    got = K.elementwise.apply(getattr(K.elementwise, name), arrays, *scalars)
    want = formula(*(a.astype(np.float64) for a in (x, dy)))
    if name != "relu" and name != "leaky_relu":  # the inputs above were rounded to x's dtype first
        want = _from_rounded(name, arrays, scalars)
    return got, want


def _from_rounded(name, arrays, scalars):
    """The formula on the (rounded) kernel inputs, in float64."""
    a = [v.astype(np.float64) for v in arrays]
    if name == "relu_backward":
        return a[1] * (a[0] > 0)
    if name == "slope_backward":
        return a[1] * np.where(a[0] <= 0, ALPHA, 1.0)
    if name == "sigmoid_backward":
        return a[1] * a[0] * (1 - a[0])
    if name == "tanh_backward":
        return a[1] * (1 - a[0] ** 2)
    if name == "elu_backward":
        return a[2] * np.where(a[0] > 0, -0.5, 0.0) + a[2] * (a[1] + 1.5)
    if name == "swish_backward":
        return a[2] * (a[0] + 2.0 * a[1] * (1 - a[0]))
    raise AssertionError(name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_kernel_matches_its_formula(name, dtype):
    rng = np.random.default_rng(6)
    for n in ODD_SIZES:
        x, dy = elementwise_cases(rng, dtype, n)
        got, want = run_elementwise(name, x, dy)
        assert got.dtype == dtype and got.shape == x.shape
        close(got, want, dtype, scale=1.0)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_kernel_threads_give_the_same_bits(name, threaded):
    rng = np.random.default_rng(7)
    x, dy = elementwise_cases(rng, np.float32, 3 * CHUNK + 1)
    two, _ = run_elementwise(name, x, dy)
    with kernels.threads(1):
        one, _ = run_elementwise(name, x, dy)
    np.testing.assert_array_equal(two, one)


def test_elementwise_layouts_channel_major_works_strided_falls_back():
    rng = np.random.default_rng(8)
    base = rng_array(rng, (3, 4, 5, 6), np.float32)
    cm = base.transpose(1, 0, 2, 3)  # channel-major memory behind an (N, C, H, W) view
    y = K.elementwise.apply(K.elementwise.relu, (cm,), 0.0)
    assert y.strides == cm.strides
    np.testing.assert_array_equal(y, np.maximum(cm, 0))
    dy = np.ascontiguousarray(cm)  # the same values stored batch-major: another order
    assert K.elementwise.apply(K.elementwise.relu_backward, (y, dy), 0.0, 1.0) is None
    strided = base[:, :, ::2]
    assert K.elementwise.apply(K.elementwise.relu, (strided,), 0.0) is None
    assert K.elementwise.apply(K.elementwise.relu, (base.astype(np.int64),), 0.0) is None
    assert K.elementwise.flat(strided) is None


def test_relu_keeps_nan_and_gives_no_gradient_at_zero():
    x = np.array([np.nan, -1.0, 0.0, -0.0, 2.0, np.inf, -np.inf], np.float32)
    y = K.elementwise.apply(K.elementwise.relu, (x,), 0.0)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    dx = K.elementwise.apply(K.elementwise.relu_backward, (y, np.ones_like(x)), 0.0, 1.0)
    np.testing.assert_array_equal(dx, [0, 0, 0, 0, 1, 1, 0])


@pytest.mark.parametrize("spec", ["relu", "leaky_relu", "sigmoid", "tanh", "elu", "selu", "swish:beta=1.5", "silu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_activation_layers_agree_with_the_numpy_path(spec, dtype):
    rng = np.random.default_rng(11)
    x = rng_array(rng, (5, 3, 4, 6), dtype).transpose(1, 0, 2, 3) * 3  # channel-major, as after a conv
    dy = np.empty_like(x)
    dy[...] = rng_array(rng, x.shape, dtype)
    out = {}
    for enabled in (True, False):
        with kernels.use(enabled):
            layer = ACTIVATIONS.get(spec)
            layer.build(x.shape[1:], _ctx(dtype))
            out[enabled] = (layer.forward(x, training=True), layer.backward(dy))
    for got, want in zip(out[True], out[False]):
        close(got, want, dtype, scale=1.0)


def _ctx(dtype):
    from nnctl.core.layers.base import BuildContext

    return BuildContext(rng=np.random.default_rng(0), dtype=np.dtype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_layer_agrees_with_the_numpy_path(dtype):
    rng = np.random.default_rng(12)
    x = rng_array(rng, (9, 13), dtype)
    dy = rng_array(rng, (9, 5), dtype)
    out = {}
    for enabled in (True, False):
        with kernels.use(enabled):
            layer = Dense(5)
            from nnctl.core.model import Model

            model = Model([ACTIVATIONS.get("linear"), layer]).build((13,), np.random.default_rng(1), dtype)
            y = model.forward(x, training=True)
            model.backward(dy)
            out[enabled] = (y, model.grads.copy())
    np.testing.assert_array_equal(out[True][0], out[False][0])
    np.testing.assert_array_equal(out[True][1], out[False][1])


# --- softmax cross-entropy ------------------------------------------------------------------------------------


def softmax_xent_formula(z, y, eps):
    """Per-sample loss and gradient of the mean loss, in float64 (the formula of losses.py)."""
    z = z.astype(np.float64)
    n, c = z.shape
    s = z - z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(s).sum(axis=1))
    t = (1 - eps) * np.eye(c)[y] + eps / c
    per = (t * (lse[:, None] - s)).sum(axis=1)
    grad = (np.exp(s) / np.exp(s).sum(axis=1, keepdims=True) - t) / n
    return per, grad


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_kernel_matches_its_formula(dtype, eps):
    rng = np.random.default_rng(13)
    for n, c in ((1, 2), (7, 10), (33, 3), (513, 17)):
        z = (rng_array(rng, (n, c), np.float64) * 4).astype(dtype)
        y = rng.integers(0, c, n).astype(np.intp)
        per, grad = np.empty(n, dtype), np.empty((n, c), dtype)
        f = np.dtype(dtype).type
        K.softmax.cross_entropy(n * c, z, y, f(eps), f(1 - eps), f(eps / c), f(1 / c), f(1 / n), True, per, grad)
        want_per, want_grad = softmax_xent_formula(z, y, eps)
        close(per, want_per, dtype, scale=math.log(c) + 8)
        close(grad, want_grad, dtype, scale=1.0 / n)
        no_grad = np.full((1, c), 7.0, dtype)
        K.softmax.cross_entropy(n * c, z, y, f(eps), f(1 - eps), f(eps / c), f(1 / c), f(1 / n), False, per, no_grad)
        assert np.all(no_grad == 7.0)  # not written without need_grad
        close(per, want_per, dtype, scale=math.log(c) + 8)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_loss_agrees_with_the_numpy_path(dtype, eps):
    rng = np.random.default_rng(14)
    z = (rng_array(rng, (64, 10), np.float64) * 5).astype(dtype)
    z[0] = [1e4, -1e4] * 5  # extreme logits stay finite
    y = rng.integers(0, 10, 64)
    loss = LOSSES.get(f"cross_entropy:label_smoothing={eps}")
    with kernels.use(True):
        value, grad = loss.value_and_grad(z, y)
        only = loss.value(z, y)
    with kernels.use(False):
        ref_value, ref_grad = loss.value_and_grad(z, y)
    assert grad.dtype == dtype and math.isfinite(value) and only == value
    close(value, ref_value, dtype, scale=10.0)
    close(grad, ref_grad, dtype, scale=1 / 64)


def test_cross_entropy_kernel_propagates_nan_and_inf():
    z = np.array([[0.0, np.nan, 1.0], [np.inf, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float32)
    y = np.array([0, 1, 2], np.intp)
    per, grad = np.empty(3, np.float32), np.empty_like(z)
    f = np.float32
    K.softmax.cross_entropy(9, z, y, f(0), f(1), f(0), f(1 / 3), f(1 / 3), True, per, grad)
    assert np.isnan(per[0]) and np.isnan(per[1]) and np.isfinite(per[2])


def test_cross_entropy_threads_give_the_same_bits(threaded):
    rng = np.random.default_rng(15)
    z = rng_array(rng, (301, 10), np.float32)
    y = rng.integers(0, 10, 301)
    loss = LOSSES.get("cross_entropy:label_smoothing=0.1")
    two = loss.value_and_grad(z, y)
    with kernels.threads(1):
        one = loss.value_and_grad(z, y)
    assert two[0] == one[0]
    np.testing.assert_array_equal(two[1], one[1])


# --- im2col and col2im ----------------------------------------------------------------------------------------


def im2col_formula(x, k, s, top, left, ho, wo):
    """cols[(c·k + u)·k + v, (n·Ho + i)·Wo + j] = x[n, c, s·i + u − top, s·j + v − left], 0 outside."""
    n, c, h, w = x.shape
    cols = np.zeros((c * k * k, n * ho * wo))
    for ch in range(c):
        for u in range(k):
            for v in range(k):
                for i in range(ho):
                    for j in range(wo):
                        r, q = s * i + u - top, s * j + v - left
                        if 0 <= r < h and 0 <= q < w:
                            cols[(ch * k + u) * k + v, np.arange(n) * ho * wo + i * wo + j] = x[:, ch, r, q]
    return cols


def col2im_formula(dcols, shape, k, s, top, left, ho, wo):
    """The adjoint of im2col: every column entry added back to the pixel it was copied from."""
    n, c, h, w = shape
    dx = np.zeros(shape)
    for ch in range(c):
        for u in range(k):
            for v in range(k):
                for i in range(ho):
                    for j in range(wo):
                        r, q = s * i + u - top, s * j + v - left
                        if 0 <= r < h and 0 <= q < w:
                            dx[:, ch, r, q] += dcols[(ch * k + u) * k + v, np.arange(n) * ho * wo + i * wo + j]
    return dx


IM2COL_CASES = [
    # (n, c, h, w, k, stride, top, left, ho, wo)
    (3, 2, 5, 5, 3, 1, 1, 1, 5, 5),  # 'same', the flat path
    (2, 1, 7, 6, 3, 2, 0, 0, 3, 2),  # 'valid', stride 2
    (2, 3, 4, 5, 2, 1, 0, 0, 4, 5),  # even kernel 'same': padding only at the bottom/right
    (1, 2, 6, 6, 5, 2, 2, 2, 3, 3),
    (2, 2, 3, 4, 1, 1, 0, 0, 3, 4),  # 1 × 1
    (2, 1, 5, 3, 3, 3, 1, 1, 2, 1),  # stride 3, windows leaving gaps
    (1, 1, 2, 2, 3, 1, 2, 2, 4, 4),  # padding larger than the kernel's reach
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IM2COL_CASES)
@pytest.mark.parametrize("layout", ["batch-major", "channel-major"])
def test_im2col_and_col2im_match_their_formulas(case, dtype, layout):
    n, c, h, w, k, s, top, left, ho, wo = case
    rng = np.random.default_rng(16)
    x = rng_array(rng, (n, c, h, w), dtype)
    if layout == "channel-major":
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    xs, sn, sc = planes(x)
    zero, one = np.dtype(dtype).type(0), np.dtype(dtype).type(1)
    want = im2col_formula(x.astype(np.float64), k, s, top, left, ho, wo)
    cols = np.full((c * k * k + 1, n * ho * wo), np.nan, dtype)  # with the bias row of ones
    K.conv.im2col(cols.size, xs, sn, sc, 0, n, c, k, s, top, left, ho, wo, cols, zero, one)
    np.testing.assert_array_equal(cols[:-1], want.astype(dtype))  # copies: exact
    assert np.all(cols[-1] == 1)
    # a block of images (the last ones) on its own
    part = np.empty((c * k * k, (n - n // 2) * ho * wo), dtype)
    K.conv.im2col(part.size, xs, sn, sc, n // 2, n - n // 2, c, k, s, top, left, ho, wo, part, zero, one)
    np.testing.assert_array_equal(part, cols[:-1, (n // 2) * ho * wo :])

    dcols = rng_array(rng, (c * k * k, n * ho * wo), dtype)
    dx, dxs, dxsn, dxsc = empty_planes((n, c, h, w), x, dtype)
    K.conv.col2im(dcols.size, dcols, dxsn, dxsc, 0, n, c, k, s, top, left, ho, wo, dxs, zero)
    assert dx.strides == x.strides
    close(dx, col2im_formula(dcols.astype(np.float64), (n, c, h, w), k, s, top, left, ho, wo), dtype, scale=k * k)
    # adjointness: <im2col(x), D> = <x, col2im(D)>
    if dtype == np.float64:
        np.testing.assert_allclose(np.vdot(cols[:-1], dcols), np.vdot(x, dx), rtol=1e-12)


def test_im2col_col2im_threads_give_the_same_bits(threaded):
    rng = np.random.default_rng(17)
    n, c, h, w, k = 9, 3, 14, 14, 3
    x = rng_array(rng, (n, c, h, w), np.float32)
    xs, sn, sc = planes(x)
    f = np.float32
    out = {}
    for t in (2, 1):
        with kernels.threads(t):
            cols = np.empty((c * k * k, n * h * w), f)
            K.conv.im2col(cols.size, xs, sn, sc, 0, n, c, k, 1, 1, 1, h, w, cols, f(0), f(1))
            dx, dxs, dxsn, dxsc = empty_planes((n, c, h, w), x, f)
            K.conv.col2im(cols.size, cols, dxsn, dxsc, 0, n, c, k, 1, 1, 1, h, w, dxs, f(0))
            out[t] = (cols, dx)
    for a, b in zip(out[2], out[1]):
        np.testing.assert_array_equal(a, b)


CONV_LAYERS = [
    # (filters, kernel, stride, padding, (C, H, W))
    (3, 3, 1, "same", (2, 6, 5)),
    (2, 3, 2, "valid", (3, 7, 6)),
    (4, 1, 1, 1, (2, 3, 4)),
    (2, 2, 1, "same", (2, 4, 5)),
    (3, 3, 2, "same", (1, 6, 5)),
]


def conv_pass(config, x, dy, dtype, enabled, use_bias=True, block_bytes=None):
    filters, k, s, padding, shape = config
    with kernels.use(enabled):
        layer = Conv2D(filters, kernel=k, stride=s, padding=padding, use_bias=use_bias)
        from nnctl.core.model import Model

        model = Model([ACTIVATIONS.get("linear"), layer]).build(shape, np.random.default_rng(2), dtype)
        if block_bytes is not None:
            layer.block_bytes = block_bytes
        y = model.forward(x, training=True)
        model.backward(dy)
        dx = layer.backward(dy)  # and once more for the input gradient (the model's first layer gets none)
        return y, model.grads.copy(), dx


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("config", CONV_LAYERS)
@pytest.mark.parametrize("use_bias", [True, False])
def test_conv_layer_agrees_with_the_numpy_path(config, dtype, use_bias):
    rng = np.random.default_rng(18)
    shape = config[4]
    x = rng_array(rng, (5, *shape), dtype)
    with kernels.use(False):
        probe = Conv2D(config[0], kernel=config[1], stride=config[2], padding=config[3])
        out_shape = probe.compute_output_shape(shape)
    dy = rng_array(rng, (5, *out_shape), dtype)
    got = conv_pass(config, x, dy, dtype, True, use_bias)
    want = conv_pass(config, x, dy, dtype, False, use_bias)
    blocked = conv_pass(config, x, dy, dtype, True, use_bias, block_bytes=1)  # one image per block
    scale = config[1] ** 2 * shape[0] * 4.0
    for a, b, c in zip(got, want, blocked):
        close(a, b, dtype, scale=scale * x.shape[0] * np.prod(out_shape[1:]))
        close(c, b, dtype, scale=scale * x.shape[0] * np.prod(out_shape[1:]))


def test_conv_layer_input_gradient_keeps_the_input_layout():
    rng = np.random.default_rng(19)
    layer = Conv2D(2, kernel=3)
    from nnctl.core.model import Model

    model = Model([ACTIVATIONS.get("linear"), layer]).build((3, 5, 5), np.random.default_rng(0))
    x = np.ascontiguousarray(rng_array(rng, (3, 4, 5, 5), np.float32)).transpose(1, 0, 2, 3)  # channel-major
    y = model.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert dx.strides == x.strides and y.transpose(1, 0, 2, 3).flags.c_contiguous


# --- pooling ---------------------------------------------------------------------------------------------------


def max_pool_formula(x, size, stride):
    """y = max of each window and the row-major index of its first maximum (np.argmax: first)."""
    n, c, h, w = x.shape
    ho, wo = (h - size) // stride + 1, (w - size) // stride + 1
    y, switch = np.empty((n, c, ho, wo)), np.empty((n, c, ho, wo), int)
    for i in range(ho):
        for j in range(wo):
            win = x[:, :, stride * i : stride * i + size, stride * j : stride * j + size].reshape(n, c, -1)
            switch[:, :, i, j] = np.argmax(win, axis=2)
            y[:, :, i, j] = win.max(axis=2)
    return y, switch


def pool_backward_formula(dy, switch, shape, size, stride, average):
    n, c, h, w = shape
    dx = np.zeros(shape)
    ho, wo = dy.shape[2:]
    for i in range(ho):
        for j in range(wo):
            for u in range(size):
                for v in range(size):
                    hit = (1.0 / size**2) if average else (switch[:, :, i, j] == u * size + v)
                    dx[:, :, stride * i + u, stride * j + v] += dy[:, :, i, j] * hit
    return dx


POOL_CASES = [(2, None, (2, 3, 6, 6)), (2, None, (2, 3, 7, 5)), (3, 2, (1, 2, 7, 8)), (2, 3, (2, 1, 8, 7)),
              (1, None, (1, 2, 3, 3)), (3, None, (2, 2, 9, 10))]  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("layout", ["batch-major", "channel-major"])
def test_max_pool_kernels_match_their_formula(case, dtype, layout):
    size, stride, shape = case
    rng = np.random.default_rng(20)
    x = rng_array(rng, shape, dtype)
    x[0, 0, 0, :2] = 5.0  # a tie: the first position wins
    if layout == "channel-major":
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    layer = MaxPool2D(size, stride)
    layer.build(shape[1:], _ctx(dtype))
    y = layer.forward(x, training=True)
    want, switch = max_pool_formula(x.astype(np.float64), size, stride or size)
    np.testing.assert_array_equal(y, want.astype(dtype))
    np.testing.assert_array_equal(layer.switches, switch)
    dy = rng_array(rng, y.shape, dtype)
    dx = layer.backward(dy)
    assert dx.strides == x.strides
    close(dx, pool_backward_formula(dy.astype(np.float64), switch, shape, size, stride or size, False), dtype, 4.0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES)
def test_avg_pool_kernels_match_their_formula(case, dtype):
    size, stride, shape = case
    rng = np.random.default_rng(21)
    x = rng_array(rng, shape, dtype)
    layer = AvgPool2D(size, stride)
    layer.build(shape[1:], _ctx(dtype))
    y = layer.forward(x, training=True)
    st = stride or size
    ho, wo = (shape[2] - size) // st + 1, (shape[3] - size) // st + 1
    want = np.zeros((*shape[:2], ho, wo))
    for u in range(size):
        for v in range(size):
            want += x.astype(np.float64)[:, :, u : u + st * (ho - 1) + 1 : st, v : v + st * (wo - 1) + 1 : st]
    close(y, want / size**2, dtype, scale=1.0)
    dy = rng_array(rng, y.shape, dtype)
    close(layer.backward(dy), pool_backward_formula(dy.astype(np.float64), None, shape, size, st, True), dtype, 1.0)


@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pool_layers_agree_with_the_numpy_path(pool, case):
    size, stride, shape = case
    rng = np.random.default_rng(22)
    x = np.ascontiguousarray(rng_array(rng, shape, np.float32).transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    out = {}
    for enabled in (True, False):
        with kernels.use(enabled):
            layer = pool(size, stride)
            layer.build(shape[1:], _ctx(np.float32))
            y = layer.forward(x, training=True)
            out[enabled] = (y, layer.backward(np.ascontiguousarray(np.ones_like(y))))
    for a, b in zip(out[True], out[False]):
        close(a, b, np.float32, scale=1.0)


def test_max_pool_kernel_propagates_nan_from_the_first_nan():
    x = np.array([[[[1.0, np.nan], [np.nan, 3.0]]]], np.float32)
    layer = MaxPool2D(2)
    layer.build((1, 2, 2), _ctx(np.float32))
    y = layer.forward(x, training=True)
    assert np.isnan(y).all() and layer.switches[0, 0, 0, 0] == 1


def test_pool_kernels_threads_give_the_same_bits(threaded):
    rng = np.random.default_rng(23)
    x = rng_array(rng, (7, 5, 12, 13), np.float32)
    out = {}
    for t in (2, 1):
        with kernels.threads(t):
            res = []
            for pool, args in ((MaxPool2D, (2,)), (MaxPool2D, (3, 2)), (AvgPool2D, (2,)), (AvgPool2D, (3, 2))):
                layer = pool(*args)
                layer.build(x.shape[1:], _ctx(np.float32))
                y = layer.forward(x, training=True)
                res += [y, layer.backward(np.ones_like(y))]
            out[t] = res
    for a, b in zip(out[2], out[1]):
        np.testing.assert_array_equal(a, b)


def test_empty_batches_pass_through_the_image_kernels():
    x = np.zeros((0, 2, 6, 6), np.float32)
    for layer in (MaxPool2D(2), AvgPool2D(2)):
        layer.build((2, 6, 6), _ctx(np.float32))
        y = layer.forward(x, training=True)
        assert y.shape == (0, 2, 3, 3) and layer.backward(y).shape == x.shape
    conv = Conv2D(3, kernel=3)
    from nnctl.core.model import Model

    model = Model([ACTIVATIONS.get("linear"), conv]).build((2, 6, 6), np.random.default_rng(0))
    y = model.forward(x, training=True)
    assert y.shape == (0, 3, 6, 6) and conv.backward(y).shape == x.shape
    assert np.all(model.grads == 0)


# --- runs: threads, determinism, the fork server ------------------------------------------------------------


def test_a_run_with_two_threads_gives_the_same_bytes_twice(tmp_path):
    from pathlib import Path

    from typer.testing import CliRunner

    from nnctl.cli.app import app

    runs = []
    for name in ("a", "b"):
        args = ["train", "--results-dir", str(tmp_path / name), "--quiet", "--model", "conv:4x3,relu,maxpool:2,flatten"]
        args += ["--epochs", "2", "--seed", "3", "--threads", "2"]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        runs.append(Path(result.output.strip()))
    assert (runs[0] / "weights.npz").read_bytes() == (runs[1] / "weights.npz").read_bytes()


def test_the_fork_server_preload_starts_numba_but_not_its_threads():
    import subprocess
    import sys

    code = (
        "import numba.np.ufunc.parallel as p, nnctl.core.kernels.preload, nnctl.core.kernels.ops as K;"
        "assert K.elementwise.relu.serial.signatures and not p._is_initialized; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
