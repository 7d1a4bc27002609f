"""Regularizers (penalties and their gradients) and gradient clipping."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.core.clipping import clip_by_global_norm, clip_by_value, global_norm
from nnctl.core.errors import ConfigError
from nnctl.core.gradcheck import numerical_gradient, relative_error
from nnctl.core.regularizers import L1, L1L2, L2, REGULARIZERS, make_regularizer

W = np.array([1.0, -2.0, 0.0, 3.0])


def grad_of(reg, w: np.ndarray) -> np.ndarray:
    g = np.zeros_like(w)
    reg.add_grad(w, g)
    return g


# --- values by hand --------------------------------------------------------------------------------


def test_l2_by_hand():
    reg = REGULARIZERS.get("l2:lam=0.1")
    assert reg.penalty(W) == pytest.approx(0.05 * (1 + 4 + 0 + 9))  # λ/2·Σw²
    g = np.ones(4)
    reg.add_grad(W, g)
    np.testing.assert_allclose(g, [1.1, 0.8, 1.0, 1.3])  # adds λ·w to what is there


def test_l1_by_hand_with_sign_of_zero_zero():
    reg = REGULARIZERS.get("l1:lam=0.1")
    assert reg.penalty(W) == pytest.approx(0.1 * 6)  # λ·Σ|w|
    g = np.ones(4)
    reg.add_grad(W, g)
    np.testing.assert_allclose(g, [1.1, 0.9, 1.0, 1.1])  # the weight at 0 gets no pull


def test_l1_l2_by_hand():
    reg = REGULARIZERS.get("l1_l2:l1=0.1,l2=0.2")
    assert reg.penalty(W) == pytest.approx(0.1 * 6 + 0.1 * 14)
    np.testing.assert_allclose(grad_of(reg, W), [0.1 + 0.2, -0.1 - 0.4, 0.0, 0.1 + 0.6])
    assert reg.penalty(W) == pytest.approx(L1(0.1).penalty(W) + L2(0.2).penalty(W))
    np.testing.assert_allclose(grad_of(reg, W), grad_of(L1(0.1), W) + grad_of(L2(0.2), W))


def test_zero_strength_changes_nothing():
    for reg in [L2(), L1(), L1L2()]:
        g = np.arange(4.0)
        reg.add_grad(W, g)
        np.testing.assert_array_equal(g, np.arange(4.0))
        assert reg.penalty(W) == 0.0


@pytest.mark.parametrize("spec", ["l2:lam=0.3", "l1:lam=0.3", "l1_l2:l1=0.2,l2=0.5"])
def test_gradient_matches_finite_differences(spec):
    rng = np.random.default_rng(0)
    w = rng.standard_normal(30)
    w += np.sign(w) * 0.1  # keep away from 0, where |w| has a kink
    reg = REGULARIZERS.get(spec)
    numeric = numerical_gradient(lambda: reg.penalty(w), w)
    assert relative_error(grad_of(reg, w), numeric) < 1e-6


@pytest.mark.parametrize("spec", ["l2:lam=0.01", "l1:lam=0.01", "l1_l2:l1=0.01,l2=0.02"])
def test_float32_in_place_on_a_slice_of_the_flat_buffer(spec):
    rng = np.random.default_rng(1)
    params = rng.standard_normal(50).astype(np.float32)
    grads = rng.standard_normal(50).astype(np.float32)
    before = grads.copy()
    n_decay = 30
    reg = REGULARIZERS.get(spec)
    reg.add_grad(params[:n_decay], grads[:n_decay])
    reg.add_grad(params[:n_decay], grads[:n_decay])  # the reused scratch buffer gives the same again
    assert grads.dtype == np.float32
    np.testing.assert_array_equal(grads[n_decay:], before[n_decay:])  # biases untouched
    expected = before[:n_decay].astype(np.float64) + 2 * grad_of(reg, params[:n_decay].astype(np.float64))
    np.testing.assert_allclose(grads[:n_decay], expected, rtol=1e-5, atol=1e-6)
    assert isinstance(reg.penalty(params[:n_decay]), float)
    reg.add_grad(W, np.zeros(4))  # a different shape and dtype afterwards is fine


def test_make_regularizer():
    assert make_regularizer(0.0, 0.0) is None
    assert make_regularizer(0.1, 0.0) == L1(lam=0.1)
    assert make_regularizer(0.0, 0.2) == L2(lam=0.2)
    assert make_regularizer(0.1, 0.2) == L1L2(l1=0.1, l2=0.2)
    with pytest.raises(ConfigError, match=r"l2=-1\.0"):
        make_regularizer(0.0, -1.0)


def test_specs_round_trip():
    for name in REGULARIZERS.names():
        reg = REGULARIZERS.get(name)
        assert REGULARIZERS.get(reg.spec()) == reg
    for spec in ["l2:1e-4", "l1:lam=0.5", "l1_l2:0.1,0.2", "ridge:0.3", "elastic_net:l2=0.1"]:
        reg = REGULARIZERS.get(spec)
        assert REGULARIZERS.get(reg.spec()) == reg
    assert REGULARIZERS.get("l2:1e-4").lam == 1e-4
    assert REGULARIZERS.get("l1_l2:0.1,0.2") == L1L2(0.1, 0.2)


@pytest.mark.parametrize("spec", ["l2:lam=-1.0", "l1:-0.5", "l1_l2:l1=-0.1", "l1_l2:l2=-2", "l2:inf", "l2:lam=abc"])
def test_bad_strengths_raise_config_error(spec):
    with pytest.raises(ConfigError, match=r"lam|l1|l2"):
        REGULARIZERS.get(spec)
    with pytest.raises(ConfigError):
        L2(lam=math.nan)


# --- clipping --------------------------------------------------------------------------------------


def test_global_norm():
    g = np.array([3.0, 4.0])
    assert global_norm(g) == pytest.approx(5.0)
    rng = np.random.default_rng(2)
    big = rng.standard_normal(10_000).astype(np.float32)
    assert global_norm(big) == pytest.approx(np.linalg.norm(big.astype(np.float64)), rel=1e-5)
    assert global_norm(big.reshape(100, 100)) == pytest.approx(global_norm(big))
    huge = np.full(10, 1e30, dtype=np.float32)  # Σg² overflows float32
    assert global_norm(huge) == pytest.approx(1e30 * math.sqrt(10), rel=1e-5)


def test_clip_by_global_norm_returns_pre_clip_norm_and_caps_it():
    g = np.array([3.0, 4.0])
    assert clip_by_global_norm(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-5)  # same direction, length 1
    rng = np.random.default_rng(3)
    g32 = (rng.standard_normal(5_000) * 10).astype(np.float32)
    norm = float(np.linalg.norm(g32.astype(np.float64)))
    direction = g32 / norm
    assert clip_by_global_norm(g32, 2.5) == pytest.approx(norm, rel=1e-5)
    assert g32.dtype == np.float32
    assert global_norm(g32) == pytest.approx(2.5, rel=1e-5)
    np.testing.assert_allclose(g32 / 2.5, direction, rtol=1e-4, atol=1e-7)


def test_clip_by_global_norm_under_the_limit_changes_nothing():
    g = np.array([0.3, -0.4, 0.0])
    before = g.copy()
    assert clip_by_global_norm(g, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(g, before)
    zeros = np.zeros(5, dtype=np.float32)
    assert clip_by_global_norm(zeros, 1.0) == 0.0
    np.testing.assert_array_equal(zeros, 0.0)


def test_clip_by_value_bounds_in_place():
    g = np.array([-5.0, -0.5, 0.0, 0.25, 7.0], dtype=np.float32)
    clip_by_value(g, 1.0)
    np.testing.assert_array_equal(g, np.array([-1.0, -0.5, 0.0, 0.25, 1.0], dtype=np.float32))
    assert g.dtype == np.float32


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_bad_clip_limits_raise_config_error(bad):
    with pytest.raises(ConfigError, match="max_norm"):
        clip_by_global_norm(np.ones(3), bad)
    with pytest.raises(ConfigError, match="limit"):
        clip_by_value(np.ones(3), bad)
