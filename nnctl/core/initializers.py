"""Weight initializers: how the first values of a parameter are drawn.

Why it matters: with n inputs of unit variance, a unit's pre-activation s = Σ wᵢxᵢ has variance
n·Var(w). Too large and sigmoid/tanh saturate (vanishing gradients) or values explode; too small
and the signal (and with it every gradient) shrinks layer after layer. The variance-scaling family
picks Var(w) = scale / n so the variance is preserved through the layer:

=====================  ============================  ====================================
initializer            Var(w)                        derived for
=====================  ============================  ====================================
glorot (xavier)        2 / (fan_in + fan_out)        tanh/sigmoid/linear (Glorot & Bengio 2010)
he (kaiming)           2 / fan_in                    ReLU (He et al. 2015)
lecun                  1 / fan_in                    SELU (Klambauer et al. 2017), LeCun 1998
=====================  ============================  ====================================

A normal draw uses σ = √Var; a uniform draw U(−a, a) has variance a²/3, so a = √(3·Var)
(Glorot uniform: a = √(6/(fan_in+fan_out))). Like PyTorch's ``xavier_normal_``/``kaiming_normal_``
the ``*_normal`` names draw from a plain normal; Keras draws them from a truncated normal, which
``variance_scaling:...,distribution=truncated_normal`` reproduces.

Lecture-note slips: "Xavier: Var = 2/n, n inputs" is He initialization; He with
"σ² = 4/(n_in + n_out)" is He with the fan average, ``variance_scaling:scale=2.0,mode=fan_avg``.

Every initializer is called as ``init(shape, fan_in, fan_out, rng)`` and returns float64 values;
the model copies them into its (float32 or float64) parameter buffer. Layers say what the fans are.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError, ShapeError
from .registry import Component, Registry, check_choice, check_range

INITIALIZERS = Registry("initializer")

#: standard deviation of N(0, 1) truncated to [−2, 2]; its variance is ≈ 0.7737.
TRUNCATED_STD = 0.87962566103423978
MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("normal", "uniform", "truncated_normal")


class Initializer(Component):
    """Base class: ``init(shape, fan_in, fan_out, rng)`` → float64 array of ``shape``."""

    kind = "initializer"

    def __call__(self, shape: tuple[int, ...], fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError


def get_initializer(spec: str | Initializer | None) -> Initializer:
    """Build an initializer from a spec such as ``he_normal`` or ``normal:std=0.01``."""
    return INITIALIZERS.get(spec)  # type: ignore[return-value]


def _check_finite(component: str, key: str, value: float) -> None:
    check_range(component, key, value, -math.inf, math.inf, low_inclusive=False, high_inclusive=False)


def truncated_standard_normal(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """N(0, 1) draws conditioned on |z| ≤ 2: out-of-range values are redrawn until none remain.

    About 4.6% of draws fall outside per round, so a few rounds suffice; the result is the
    same for the same generator state.
    """
    z = rng.standard_normal(shape)
    flat = z.reshape(-1)
    idx = np.flatnonzero(np.abs(flat) > 2.0)
    while idx.size:
        redraw = rng.standard_normal(idx.size)
        flat[idx] = redraw
        idx = idx[np.abs(redraw) > 2.0]
    return z


# --- constants and fixed-scale random draws ----------------------------------------------------------


@INITIALIZERS.register("zeros", "zero")
class Zeros(Initializer):
    """All zeros: the usual bias init. For weights it never breaks symmetry (every unit stays equal)."""

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.zeros(shape)


@INITIALIZERS.register("constant", "const")
class Constant(Initializer):
    """Every entry equals ``value`` (e.g. ``constant:0.01`` for ReLU biases, as the notes suggest)."""

    def __init__(self, value: float = 0.0):
        _check_finite("constant", "value", value)
        self.value = float(value)

    def __call__(self, shape, fan_in, fan_out, rng):
        return np.full(shape, self.value)


@INITIALIZERS.register("normal", "gaussian", "random_normal")
class Normal(Initializer):
    """N(mean, std²) regardless of the fans. std=1 is the notes' "big random numbers" (tanh saturates);
    ``normal:std=0.01`` their "small random numbers" (the signal vanishes in deep nets)."""

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        _check_finite("normal", "mean", mean)
        check_range("normal", "std", std, 0)
        self.mean = float(mean)
        self.std = float(std)

    def __call__(self, shape, fan_in, fan_out, rng):
        return self.mean + self.std * rng.standard_normal(shape)


@INITIALIZERS.register("uniform", "random_uniform")
class Uniform(Initializer):
    """U(−limit, limit), variance limit²/3, regardless of the fans."""

    def __init__(self, limit: float = 0.05):
        check_range("uniform", "limit", limit, 0)
        self.limit = float(limit)

    def __call__(self, shape, fan_in, fan_out, rng):
        return rng.uniform(-self.limit, self.limit, size=shape)


@INITIALIZERS.register("truncated_normal", "trunc_normal")
class TruncatedNormal(Initializer):
    """N(mean, std²) cut at mean ± 2·std by redrawing the values outside.

    Cutting the tails lowers the variance: the result has variance ≈ 0.774·std² (std of the cut
    standard normal: 0.8796). ``variance_scaling`` with ``distribution=truncated_normal`` compensates
    for this, as Keras does; this plain form does not (Keras TruncatedNormal, PyTorch trunc_normal_).
    """

    def __init__(self, mean: float = 0.0, std: float = 0.05):
        _check_finite("truncated_normal", "mean", mean)
        check_range("truncated_normal", "std", std, 0)
        self.mean = float(mean)
        self.std = float(std)

    def __call__(self, shape, fan_in, fan_out, rng):
        return self.mean + self.std * truncated_standard_normal(shape, rng)


# --- the variance-scaling family ---------------------------------------------------------------------


@INITIALIZERS.register("variance_scaling")
class VarianceScaling(Initializer):
    """Var(w) = scale / n with n = fan_in, fan_out or (fan_in + fan_out)/2 (Keras VarianceScaling).

    ``normal``: N(0, scale/n). ``uniform``: U(±√(3·scale/n)). ``truncated_normal``: σ = √(scale/n) /
    0.8796 cut at ±2σ, the σ enlarged (as Keras does) so the variance after cutting is still scale/n.
    Glorot = (1, fan_avg); He = (2, fan_in); LeCun = (1, fan_in); the notes' He variant
    σ² = 4/(n_in + n_out) = (2, fan_avg).
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal"):
        check_range("variance_scaling", "scale", scale, 0, low_inclusive=False)
        check_choice("variance_scaling", "mode", mode, MODES)
        check_choice("variance_scaling", "distribution", distribution, DISTRIBUTIONS)
        self.scale = float(scale)
        self.mode = mode
        self.distribution = distribution

    def variance(self, fan_in: int, fan_out: int) -> float:
        """The target Var(w) for these fans."""
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        if n <= 0:
            raise ShapeError(f"{self.name}: {self.mode}={n} must be positive (fan_in={fan_in}, fan_out={fan_out})")
        return self.scale / n

    def __call__(self, shape, fan_in, fan_out, rng):
        var = self.variance(fan_in, fan_out)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * var)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "truncated_normal":
            return (math.sqrt(var) / TRUNCATED_STD) * truncated_standard_normal(shape, rng)
        return math.sqrt(var) * rng.standard_normal(shape)


class _FixedScaling(VarianceScaling):
    """A named variance-scaling preset: no hyperparameters, so its spec is just its name."""

    preset: tuple[float, str, str] = (1.0, "fan_in", "normal")

    def __init__(self):
        super().__init__(*self.preset)


@INITIALIZERS.register("glorot_normal", "xavier_normal")
class GlorotNormal(_FixedScaling):
    """Glorot/Xavier normal: N(0, 2/(fan_in + fan_out)) (Glorot & Bengio 2010; PyTorch xavier_normal_).

    Keeps the variance of activations and of gradients roughly constant for tanh/sigmoid/linear.
    Not the notes' "Xavier Var = 2/n" — that is He.
    """

    preset = (1.0, "fan_avg", "normal")


@INITIALIZERS.register("glorot_uniform", "xavier_uniform")
class GlorotUniform(_FixedScaling):
    """Glorot/Xavier uniform: U(±√(6/(fan_in + fan_out))), variance 2/(fan_in + fan_out)."""

    preset = (1.0, "fan_avg", "uniform")


@INITIALIZERS.register("he_normal", "kaiming_normal")
class HeNormal(_FixedScaling):
    """He/Kaiming normal: N(0, 2/fan_in) (He et al. 2015; PyTorch kaiming_normal_ for ReLU).

    A ReLU zeroes half its inputs, halving the variance; the factor 2 restores it. This is what the
    notes call "Xavier, Var = 2/n". Their "σ² = 4/(n_in+n_out)" is
    ``variance_scaling:scale=2.0,mode=fan_avg``.
    """

    preset = (2.0, "fan_in", "normal")


@INITIALIZERS.register("he_uniform", "kaiming_uniform")
class HeUniform(_FixedScaling):
    """He/Kaiming uniform: U(±√(6/fan_in)), variance 2/fan_in."""

    preset = (2.0, "fan_in", "uniform")


@INITIALIZERS.register("lecun_normal")
class LecunNormal(_FixedScaling):
    """LeCun normal: N(0, 1/fan_in); with SELU it gives self-normalizing networks (Klambauer et al. 2017)."""

    preset = (1.0, "fan_in", "normal")


@INITIALIZERS.register("lecun_uniform")
class LecunUniform(_FixedScaling):
    """LeCun uniform: U(±√(3/fan_in)), variance 1/fan_in."""

    preset = (1.0, "fan_in", "uniform")


# --- orthogonal ----------------------------------------------------------------------------------------


@INITIALIZERS.register("orthogonal")
class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014; PyTorch orthogonal_).

    The parameter is viewed as a matrix of shape (shape[0], prod(shape[1:])). A Gaussian matrix is
    factored A = QR; multiplying Q's columns by sign(diag R) makes the result uniformly distributed
    over orthogonal matrices. With more rows than columns the columns are orthonormal (WᵀW = I),
    otherwise the rows are (WWᵀ = I). An orthogonal map preserves the norm of every input exactly.
    """

    def __init__(self, gain: float = 1.0):
        check_range("orthogonal", "gain", gain, 0, math.inf, low_inclusive=False, high_inclusive=False)
        self.gain = float(gain)

    def __call__(self, shape, fan_in, fan_out, rng):
        shape = tuple(int(s) for s in shape)
        if len(shape) < 2:
            raise ConfigError(
                f"orthogonal: needs a parameter with at least 2 dimensions, got shape {shape}; "
                "use it for weights, not biases"
            )
        rows = shape[0]
        cols = math.prod(shape[1:])
        a = rng.standard_normal((rows, cols))
        if rows < cols:
            a = a.T
        q, r = np.linalg.qr(a)
        signs = np.sign(np.diag(r))
        signs[signs == 0] = 1.0
        q *= signs
        if rows < cols:
            q = q.T
        return (self.gain * q).reshape(shape)
