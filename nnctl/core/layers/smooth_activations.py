"""Smooth ReLU-like activations: swish, SiLU, softplus and GELU (with the normal CDF it needs).

Each writes f and f′ side by side, as in :mod:`.activations`; they pass no gradient-free region,
which is why they are sometimes preferred over ReLU in deep networks.
"""

from __future__ import annotations

import math

import numpy as np

from ..registry import check_choice, check_range
from .activations import ACTIVATIONS, INV_SQRT_2PI, SQRT2, Activation, _sigmoid

# --- smooth ReLU-like functions ----------------------------------------------------------------------


@ACTIVATIONS.register("swish")
class Swish(Activation):
    """Swish (Ramachandran et al. 2017): x·σ(βx); f′ = s + β·y·(1 − s) with s = σ(βx).

    β = 0 gives x/2, β → ∞ gives max(0, x), β = 1 is SiLU. The notes' table writes 2x·σ(βx), a
    rescaled form whose limits are x and 2·max(0, x); this is the usual definition.
    """

    gain = SQRT2

    def __init__(self, beta: float = 1.0):
        super().__init__()
        check_range("swish", "beta", beta, 0.0, math.inf, high_inclusive=False)
        self.beta = float(beta)

    def forward(self, x, training=False):
        self._s = _sigmoid(x, self.beta)
        self._y = x * self._s
        return self._y

    def derivative(self):
        d = 1.0 - self._s
        d *= self._y
        if self.beta != 1.0:
            d *= self.beta
        d += self._s
        return d

    def _kernel_backward(self, k, dy):
        return k.apply(k.swish_backward, (self._s, self._y, dy), self.beta, self.beta != 1.0, 1.0)


@ACTIVATIONS.register("silu")
class SiLU(Swish):
    """SiLU (sigmoid-weighted linear unit, Elfwing et al. 2018): x·σ(x), swish with β = 1."""

    def __init__(self):
        super().__init__(beta=1.0)


@ACTIVATIONS.register("softplus")
class Softplus(Activation):
    """log(1 + eˣ), a smooth ReLU with f′ = σ(x). Computed as log1p(e^(−|x|)) + max(x, 0), which
    neither overflows for large x nor loses precision for very negative x, so it is exact
    everywhere. PyTorch's Softplus instead returns x itself above ``threshold`` = 20 (the two differ
    by log1p(e^(−x)) < 2.1e-9 there; docs/conventions.md lists such differences)."""

    gain = SQRT2

    def forward(self, x, training=False):
        self._x = x
        y = np.abs(x)
        np.negative(y, out=y)
        np.exp(y, out=y)
        np.log1p(y, out=y)
        y += np.maximum(x, 0)
        return y

    def derivative(self):
        return _sigmoid(self._x)


# Φ through erfc, W. J. Cody (1969), "Rational Chebyshev approximations for the error function",
# Math. Comp. 23: erfc(a) = e^(−a²)·P(a)/Q(a) on 0.47 ≤ a ≤ 4, coefficients as stored in his CALERF
# routine (P[8] multiplies a⁸, then P[0] … P[6] the falling powers, P[7] is the constant; Q alike,
# with a leading 1).
_CODY_P = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
           8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
           2.15311535474403846e-8)  # fmt: skip
_CODY_Q = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
           3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip


def normal_cdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Φ(x) = ½·erfc(−x/√2) and exp(−x²/2), whole-array, in x's dtype.

    NumPy has no erf. One branch-free rational (Cody's erfc for 0.47 ≤ a ≤ 4, a = |x|/√2) is used
    for every a ≤ 9: below 0.47 and above 4 it stays within 2.4e-12 of Φ (checked against
    ``math.erfc``), and beyond a = 9 Φ is 0 or 1 to 1e-37. The error is smooth, so finite differences
    of x·Φ(x) match the exact derivative Φ + xφ to ~1e-9. Cost: about five times a tanh.
    """
    a = np.abs(x)
    a *= math.sqrt(0.5)
    np.minimum(a, 9.0, out=a)
    num = a * _CODY_P[8]
    den = a.copy()
    for p, q in zip(_CODY_P[:7], _CODY_Q[:7]):  # Horner's rule, both polynomials at once
        num += p
        num *= a
        den += q
        den *= a
    num += _CODY_P[7]
    den += _CODY_Q[7]
    num /= den  # erfc(a)·e^(a²)
    gauss = np.square(a)
    np.negative(gauss, out=gauss)
    np.exp(gauss, out=gauss)  # e^(−a²) = exp(−x²/2)
    num *= gauss  # erfc(a)
    num *= -0.5
    num += 0.5  # ½ − ½·erfc(a) = |Φ(x) − ½|
    np.copysign(num, x, out=num)
    num += 0.5
    return num, gauss


@ACTIVATIONS.register("gelu")
class GELU(Activation):
    """GELU (Hendrycks & Gimpel 2016): x·Φ(x), Φ the standard normal CDF; f′ = Φ(x) + x·φ(x).

    ``approximate=none`` (default, as PyTorch) evaluates Φ to ~1e-12 (see :func:`normal_cdf`);
    ``approximate=tanh`` uses ½x(1 + t), t = tanh(√(2/π)(x + 0.044715x³)), about five times cheaper,
    with f′ = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²).
    """

    gain = SQRT2
    _C = math.sqrt(2.0 / math.pi)
    _K = 0.044715

    def __init__(self, approximate: str = "none"):
        super().__init__()
        approximate = "none" if approximate is None else approximate  # the spec value "none" parses as None
        check_choice("gelu", "approximate", approximate, ("none", "tanh"))
        self.approximate = approximate

    def forward(self, x, training=False):
        self._x = x
        if self.approximate == "none":
            self._phi, self._gauss = normal_cdf(x)
            return x * self._phi
        t = np.square(x)
        t *= self._C * self._K
        t += self._C
        t *= x
        self._t = np.tanh(t, out=t)
        y = t + 1.0
        y *= x
        y *= 0.5
        return y

    def derivative(self):
        x = self._x
        if self.approximate == "none":
            d = x * self._gauss
            d *= INV_SQRT_2PI
            d += self._phi
            return d
        t = self._t
        d = np.square(t)
        np.subtract(1.0, d, out=d)
        d *= x
        q = np.square(x)
        q *= 3.0 * self._C * self._K
        q += self._C
        d *= q
        d += t
        d += 1.0
        d *= 0.5
        return d
