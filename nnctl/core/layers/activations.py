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
Python floats), and never modify ``dy`` (a residual block reuses it). Where the compiled kernels
are active (nnctl/core/kernels), ReLU and leaky ReLU run forward and backward as one pass each, and
the backward passes of sigmoid, tanh, ELU/SELU and swish/SiLU too (``_kernel_backward``); the NumPy
code here is the formula they are tested against.
"""

from __future__ import annotations

import math

import numpy as np

from .. import kernels
from ..errors import TrainingError
from ..initializers import Constant
from ..registry import check_range
from .base import LAYERS, BuildContext, Layer

SQRT2 = math.sqrt(2.0)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class Activation(Layer):
    """Base class: shape-preserving, no parameters; ``bounds`` and ``gain`` as described above.

    Activations are layers, registered in the one layer registry; :data:`ACTIVATIONS` is the view of
    it that ``--activation`` and ``nnctl list activations`` use.

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
        ops = kernels.active()
        if ops is not None:
            dx = self._kernel_backward(ops.elementwise, dy)
            if dx is not None:
                return dx
        d = self.derivative()
        d *= dy
        return d

    def _kernel_backward(self, k, dy: np.ndarray) -> np.ndarray | None:
        """f′ ⊙ dy in one compiled pass (module ``k`` = kernels/elementwise.py), or None (NumPy path)."""
        return None


#: the layers that are activations (what ``--activation`` accepts)
ACTIVATIONS = LAYERS.view("activation", lambda cls: issubclass(cls, Activation))


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

    def _kernel_backward(self, k, dy):
        return k.apply(k.sigmoid_backward, (self._y, dy), 1.0)


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

    def _kernel_backward(self, k, dy):
        return k.apply(k.tanh_backward, (self._y, dy), 1.0)


# --- the ReLU family ----------------------------------------------------------------------------------


@ACTIVATIONS.register("relu")
class ReLU(Activation):
    """max(0, x): f′ = 1 for x > 0, else 0 (also at 0, as PyTorch). A unit whose input stays
    negative gets no gradient and never recovers ("dead ReLU")."""

    gain = SQRT2

    def forward(self, x, training=False):
        ops = kernels.active()
        y = None if ops is None else ops.elementwise.apply(ops.elementwise.relu, (x,), 0.0)
        self._y = np.maximum(x, 0) if y is None else y
        return self._y

    def derivative(self):
        return _positive(self._y)

    def _kernel_backward(self, k, dy):
        return k.apply(k.relu_backward, (self._y, dy), 0.0, 1.0)


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
        ops = kernels.active()
        y = None if ops is None else ops.elementwise.apply(ops.elementwise.leaky_relu, (x,), self.alpha)
        if y is not None:
            return y
        y = x * self.alpha
        return np.maximum(x, y, out=y)

    def derivative(self):
        return _slope(self._x, self.alpha)

    def _kernel_backward(self, k, dy):
        return k.apply(k.slope_backward, (self._x, dy), self.alpha - 1.0, 0.0, 1.0)


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

    def _kernel_backward(self, k, dy):
        above, below = self.scale * (1.0 - self.alpha), self.scale * self.alpha
        return k.apply(k.elu_backward, (self._x, self._neg, dy), above, below, 0.0)


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
