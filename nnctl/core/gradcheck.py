"""Finite-difference gradient checks (use float64).

The central difference (f(x+h) − f(x−h)) / 2h has error O(h²); with h ≈ 1e-6 in float64 an exact
backward pass agrees with it to a relative error far below 1e-6. Layers are checked through the
scalar L = Σ y ⊙ R for a fixed random R, whose gradient with respect to y is simply R.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """dF/dx by central differences, perturbing ``x`` in place one entry at a time."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        fp = f()
        flat[i] = old - h
        fm = f()
        flat[i] = old
        gflat[i] = (fp - fm) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a−b| / max(|a|+|b|, tiny): scale-free agreement between two gradients."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = max(float(np.max(np.abs(a) + np.abs(b), initial=0.0)), 1e-12)
    return float(np.max(np.abs(a - b), initial=0.0)) / denom


def check_layer(
    layer,
    x: np.ndarray,
    rng: np.random.Generator,
    *,
    training: bool = True,
    h: float = 1e-6,
    reseed: Callable[[], None] | None = None,
) -> dict[str, float]:
    """Compare a built float64 layer's analytic gradients with finite differences.

    Returns relative errors for the input (``"x"``) and each parameter. ``reseed`` is called before
    every forward pass for stochastic layers (dropout, rrelu), so each pass draws the same noise.
    """
    x = np.array(x, dtype=np.float64)
    reseed = reseed or (lambda: None)
    reseed()
    y = layer.forward(x, training)
    r = rng.standard_normal(y.shape)

    def loss() -> float:
        reseed()
        return float(np.sum(layer.forward(x, training) * r))

    reseed()
    layer.forward(x, training)
    layer.need_input_grad = True
    dx = layer.backward(r.copy())
    analytic = {"x": np.array(dx, copy=True)}
    for name, g in layer.grads.items():
        analytic[name] = np.array(g, copy=True)
    errors = {"x": relative_error(analytic["x"], numerical_gradient(loss, x, h))}
    for name, p in layer.params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(loss, p, h))
    return errors


def build_for_check(layer, input_shape: tuple[int, ...], seed: int = 0):
    """Build a layer alone in float64 with its parameters allocated (a one-layer model)."""
    from .model import Model

    model = Model([layer]).build(input_shape, np.random.default_rng(seed), dtype=np.float64)
    layer.need_input_grad = True
    return model
