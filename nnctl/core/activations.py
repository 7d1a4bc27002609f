"""Activation functions, each a parameter-free (PReLU: one-parameter) layer.

An activation y = f(x) acts elementwise, so its backward pass is dL/dx = f′(x) ⊙ dL/dy; each class
writes f and f′ side by side. Forward caches what f′ needs (often the output itself: σ′ = σ(1−σ),
tanh′ = 1 − tanh²). Two exceptions are not elementwise: ``maxout`` (a max over groups of units) and
``softmax`` (a normalization over features).

Each class also says what it is, for initialization and diagnostics:

``bounds``
    The output range when it is bounded on both sides (sigmoid (0, 1), tanh (−1, 1)), else None; a
    unit whose outputs sit at a bound is saturated and passes almost no gradient.
``gain``
    The factor an initializer's standard deviation is multiplied by for this nonlinearity (PyTorch
    ``calculate_gain``): relu √2, tanh 5/3, leaky ReLU √(2/(1+a²)), linear/sigmoid 1. SELU uses 1
    (LeCun init, as self-normalization requires; PyTorch's ``calculate_gain('selu')`` is 3/4).
    Smooth ReLU-like functions (elu, gelu, swish, silu, softplus), which PyTorch gives no gain, use √2.

Implementation notes: the computations are branch-free whole-array arithmetic (``np.where`` and
masked ufuncs are several times slower on random signs), keep float32 as float32 (constants are
Python floats), and never modify ``dy`` (a residual block reuses it).
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ShapeError, TrainingError
from .initializers import Constant
from .layers.base import BuildContext, Layer
from .registry import Registry, check_choice, check_range

ACTIVATIONS = Registry("activation")

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Activation(Layer):
    """Base class: shape-preserving, no parameters; ``bounds`` and ``gain`` as described above.

    An elementwise activation implements ``forward`` (caching what f′ needs) and ``derivative``,
    which returns f′ at the last input as a fresh array; backward is then dL/dx = f′(x) ⊙ dL/dy.
    """

    bounds: tuple[float, float] | None = None
    gain: float = 1.0

    def derivative(self) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        d = self.derivative()
        d *= dy
        return d


def _positive(x: np.ndarray) -> np.ndarray:
    """1.0 where x > 0, else 0.0, in x's dtype (so that multiplying by it never upcasts)."""
    return np.greater(x, 0, out=np.empty_like(x))


def _sigmoid(x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """σ(scale·x) through the identity σ(t) = ½ + ½·tanh(t/2).

    tanh never overflows, so large |x| give exactly 0 or 1 without warnings, and the result is
    never a (slow) denormal number. Absolute error is one rounding of 1; tiny outputs lose relative
    precision, which activations do not need (losses take logits).
    """
    s = x * (0.5 * scale)
    np.tanh(s, out=s)
    s *= 0.5
    s += 0.5
    return s


def _slope(x: np.ndarray, a) -> np.ndarray:
    """f′ of y = x (x > 0), a·x (x ≤ 0), written without branches: 1 + (a − 1)·[x ≤ 0]."""
    d = np.less_equal(x, 0, out=np.empty_like(x))
    d *= a - 1.0
    d += 1.0
    return d


# --- identity and the classic squashing functions ---------------------------------------------------


@ACTIVATIONS.register("linear", "identity")
class Linear(Activation):
    """f(x) = x. A stack of linear layers is still one linear map; used for output layers."""

    def forward(self, x, training=False):
        return x

    def backward(self, dy):
        return dy if self.need_input_grad else None


@ACTIVATIONS.register("sigmoid", "logistic")
class Sigmoid(Activation):
    """σ(x) = 1/(1 + e^(−x)), σ′ = σ(1 − σ) ≤ 1/4: saturates, and outputs are not zero-centred."""

    bounds = (0.0, 1.0)

    def forward(self, x, training=False):
        self._y = _sigmoid(x)
        return self._y

    def derivative(self):
        d = 1.0 - self._y
        d *= self._y
        return d


@ACTIVATIONS.register("tanh")
class Tanh(Activation):
    """tanh(x) = 2σ(2x) − 1, tanh′ = 1 − tanh²: zero-centred but still saturating."""

    bounds = (-1.0, 1.0)
    gain = 5.0 / 3.0

    def forward(self, x, training=False):
        self._y = np.tanh(x)
        return self._y

    def derivative(self):
        d = np.square(self._y)
        return np.subtract(1.0, d, out=d)


# --- the ReLU family ----------------------------------------------------------------------------------


@ACTIVATIONS.register("relu")
class ReLU(Activation):
    """max(0, x): f′ = 1 for x > 0, else 0 (also at 0, as PyTorch). A unit whose input stays
    negative gets no gradient and never recovers ("dead ReLU")."""

    gain = SQRT2

    def forward(self, x, training=False):
        self._y = np.maximum(x, 0)
        return self._y

    def derivative(self):
        return _positive(self._y)


@ACTIVATIONS.register("leaky_relu", "lrelu", "leaky")
class LeakyReLU(Activation):
    """max(αx, x), 0 ≤ α ≤ 1: x for x > 0, αx below. α = 0.01 as PyTorch and the notes (0.01·x,
    not the constant 0.01; Keras uses 0.3): negative inputs keep a small gradient."""

    def __init__(self, alpha: float = 0.01):
        super().__init__()
        check_range("leaky_relu", "alpha", alpha, 0.0, 1.0)
        self.alpha = float(alpha)

    @property
    def gain(self):  # type: ignore[override]
        return math.sqrt(2.0 / (1.0 + self.alpha**2))

    def forward(self, x, training=False):
        self._x = x
        y = x * self.alpha
        return np.maximum(x, y, out=y)

    def derivative(self):
        return _slope(self._x, self.alpha)


@ACTIVATIONS.register("prelu")
class PReLU(Activation):
    """Parametric ReLU (He et al. 2015): max(0, x) + a·min(0, x) with the slope a learned.

    One slope per unit for flat inputs (F,), one per channel for images (C, H, W) (shape (C, 1, 1)),
    all starting at ``alpha`` (PyTorch's ``init``, 0.25), never weight-decayed. As ∂y/∂a = min(0, x),
    dL/da = Σ dy ⊙ min(0, x), summed over the batch (and the pixels).
    """

    def __init__(self, alpha: float = 0.25):
        super().__init__()
        check_range("prelu", "alpha", alpha, -math.inf, math.inf, low_inclusive=False, high_inclusive=False)
        self.alpha = float(alpha)

    @property
    def gain(self):  # type: ignore[override]
        return math.sqrt(2.0 / (1.0 + self.alpha**2))

    def build(self, input_shape, ctx: BuildContext):
        out = super().build(input_shape, ctx)
        shape = self.input_shape
        self._axes = (0, *range(2, len(shape) + 1))  # the batch and every axis after the first
        self.add_param("alpha", (shape[0],) + (1,) * (len(shape) - 1), Constant(self.alpha), regularize=False)
        return out

    def forward(self, x, training=False):
        self._x = x
        self._neg = np.minimum(x, 0)
        y = self._neg * self.params["alpha"]
        y += np.maximum(x, 0)
        return y

    def derivative(self):
        return _slope(self._x, self.params["alpha"])

    def backward(self, dy):
        da = self.grads["alpha"]
        da[...] = np.sum(dy * self._neg, axis=self._axes).reshape(da.shape)
        return super().backward(dy)


@ACTIVATIONS.register("rrelu")
class RReLU(Activation):
    """Randomized leaky ReLU (Xu et al. 2015): x for x > 0, a·x below.

    While training, a is drawn from U[lower, upper] for every element of every batch (noise that
    regularizes); in evaluation it is fixed at the mean (lower + upper)/2, as in PyTorch.
    """

    has_training_mode = True

    def __init__(self, lower: float = 0.125, upper: float = 0.3333333333333333):
        super().__init__()
        check_range("rrelu", "lower", lower, 0.0)
        check_range("rrelu", "upper", upper, lower)
        self.lower = float(lower)
        self.upper = float(upper)

    @property
    def gain(self):  # type: ignore[override]
        return math.sqrt(2.0 / (1.0 + ((self.lower + self.upper) / 2) ** 2))

    def forward(self, x, training=False):
        if training:
            a = self.rng.random(x.shape, dtype=x.dtype if x.dtype == np.float32 else np.float64)
            a *= self.upper - self.lower
            a += self.lower
        else:
            a = (self.lower + self.upper) / 2
        self._x, self._a = x, a
        y = np.minimum(x, 0)
        y *= a
        y += np.maximum(x, 0)
        return y

    def derivative(self):
        return _slope(self._x, self._a)


@ACTIVATIONS.register("elu")
class ELU(Activation):
    """ELU (Clevert et al. 2016): x for x > 0, α(eˣ − 1) below, saturating at −α; mean activations
    move toward zero. f′ = 1 above 0 and α·eˣ = y + α below.

    Computed as scale·(max(x, 0) + α·expm1(min(x, 0))): accurate near 0, never overflows, and
    branch-free; ``scale`` is 1 here and λ for SELU.
    """

    gain = SQRT2
    scale = 1.0

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        check_range("elu", "alpha", alpha, 0.0)
        self.alpha = float(alpha)

    def forward(self, x, training=False):
        neg = np.minimum(x, 0)
        np.expm1(neg, out=neg)
        neg *= self.scale * self.alpha
        y = np.maximum(x, 0)
        if self.scale != 1.0:
            y *= self.scale
        y += neg
        self._x, self._neg = x, neg
        return y

    def derivative(self):
        # scale for x > 0; scale·α·eˣ = neg + scale·α for x ≤ 0 (neg is 0 above 0)
        d = _positive(self._x)
        d *= self.scale * (1.0 - self.alpha)
        d += self._neg
        d += self.scale * self.alpha
        return d


@ACTIVATIONS.register("selu")
class SELU(ELU):
    """SELU (Klambauer et al. 2017): λ·ELU_α(x) with α ≈ 1.6733, λ ≈ 1.0507.

    The constants make mean 0 / variance 1 a stable fixed point of a layer with LeCun-normal weights,
    so activations normalize themselves without batch norm ("self-normalizing networks").
    """

    gain = 1.0
    scale = SELU_SCALE

    def __init__(self):
        super().__init__(alpha=SELU_ALPHA)


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


# --- not elementwise -----------------------------------------------------------------------------------


@ACTIVATIONS.register("maxout")
class Maxout(Activation):
    """Maxout (Goodfellow et al. 2013): the maximum over groups of ``pieces`` consecutive units.

    Flat input (F,): output unit j = max(x[j·k], …, x[j·k + k − 1]), k = pieces, shape (F/k,). Images
    (C, H, W): the same over groups of k consecutive channels, pixel by pixel, shape (C/k, H, W).
    The gradient goes to the unit that attained the maximum (the first one on ties). With a dense
    layer of F units before it, maxout learns a convex piecewise-linear activation with k pieces.
    """

    def __init__(self, pieces: int = 2):
        super().__init__()
        check_range("maxout", "pieces", pieces, 1)
        self.pieces = int(pieces)

    def compute_output_shape(self, input_shape):
        k, units = self.pieces, input_shape[0]
        if units % k:
            kind = "features" if len(input_shape) == 1 else "channels"
            raise ShapeError(
                f"maxout:pieces={k} needs the number of {kind} to be divisible by {k}; got input shape "
                f"{tuple(input_shape)} ({units} {kind}); use a multiple of {k} units before it"
            )
        return (units // k, *input_shape[1:])

    def forward(self, x, training=False):
        n, k = x.shape[0], self.pieces
        xr = x.reshape(n, -1, k, int(np.prod(x.shape[2:], dtype=np.int64)))  # (N, groups, k, pixels)
        y = xr[:, :, 0].copy()
        for j in range(1, k):  # k − 1 whole-array maxima (faster than argmax over a short axis)
            np.maximum(y, xr[:, :, j], out=y)
        self._xr, self._y, self._shape = xr, y, x.shape
        return y.reshape(n, -1, *x.shape[2:])

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        xr, y = self._xr, self._y
        dyr = dy.reshape(y.shape)
        dx = np.empty_like(xr)
        free = np.ones(y.shape, dtype=bool)  # groups whose gradient is not yet routed
        for j in range(self.pieces):
            hit = xr[:, :, j] == y
            hit &= free
            free &= ~hit
            np.multiply(dyr, hit, out=dx[:, :, j])
        return dx.reshape(self._shape)


@ACTIVATIONS.register("softmax")
class Softmax(Activation):
    """softmax(x)_i = e^(x_i) / Σ_j e^(x_j) over the features (over the channels, per pixel, for
    images); computed as e^(x − max x), which cannot overflow.

    Models output logits and the cross-entropy loss applies softmax itself (its gradient is then
    simply p − t), so this layer is for inspecting probabilities, not for training classifiers. Its
    backward is the Jacobian-vector product dx = y ⊙ (dy − Σ_j dy_j·y_j).
    """

    bounds = (0.0, 1.0)

    def forward(self, x, training=False):
        y = x - x.max(axis=1, keepdims=True)
        np.exp(y, out=y)
        y /= y.sum(axis=1, keepdims=True)
        self._y = y
        return y

    def backward(self, dy):
        if not self.need_input_grad:
            return None
        y = self._y
        dx = dy - np.sum(dy * y, axis=1, keepdims=True)
        dx *= y
        return dx


@ACTIVATIONS.register("step", "heaviside")
class Step(Activation):
    """Heaviside step: 1 for x ≥ 0, 0 for x < 0 (the notes' definition; the perceptron's unit).

    Its derivative is 0 everywhere (undefined at 0), so gradient descent cannot train through it:
    it is here for inspection, and backward raises TrainingError.
    """

    bounds = (0.0, 1.0)
    differentiable = False

    def forward(self, x, training=False):
        return np.greater_equal(x, 0, out=np.empty_like(x))

    def backward(self, dy):
        raise TrainingError(
            "step: the gradient of a step function is zero everywhere, so nothing before it can "
            "learn; use it for inspection only (for training try sigmoid or relu)"
        )
