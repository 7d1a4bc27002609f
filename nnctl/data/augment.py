"""Data augmentation: random, label-preserving changes to each training batch.

Augmentation enlarges the training set with plausible variants of its examples (lecture note 004:
Simard, Steinkraus & Platt 2003 lifted MNIST accuracy from 98.4% to 99.3% with shifts, rotations and
elastic distortions). Each op maps a batch to a new batch of the same shape and dtype, draws all its
randomness from the generator it is given and never modifies its input. Images are (N, C, H, W);
every op works on the whole batch at once, with per-sample random parameters.

A pipeline is written as one spec string::

    shift:2,rotate:15,elastic:alpha=8,sigma=3

Commas separate ops; a ``key=value`` item (or a bare number) without an op name of its own belongs
to the op before it; a plain value after ``name:`` is the op's first parameter. Only ``noise`` and ``mixup`` make
sense for tabular data; image ops on tabular data are refused by :meth:`Pipeline.check`.

Geometric ops (rotate, scale, elastic) compute for every output pixel the source position it comes
from and read the input there by bilinear interpolation
(:func:`~nnctl.data.image_geometry.sample_bilinear`), with zeros outside.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..core.errors import ConfigError, SpecError
from ..core.registry import Component, Registry, check_int, check_range, format_value, parse_value
from .image_geometry import about_centre, gaussian_matrix, pixel_grid, sample_bilinear, shift_images

AUGMENTATIONS = Registry("augmentation")


def _bounds(op: str, low: float, high: float, *, positive: bool) -> tuple[float, float]:
    """Validated (low, high) of a uniform factor: 0 ≤ low ≤ high (0 < low when ``positive``)."""
    for key, value in (("low", low), ("high", high)):
        check_range(op, key, value, 0.0, low_inclusive=not positive)
    if low > high:
        raise ConfigError(f"{op}: low={format_value(low)} > high={format_value(high)}; allowed: low <= high")
    return float(low), float(high)


def _tabular_names() -> str:
    return ", ".join(n for n in AUGMENTATIONS.names() if not AUGMENTATIONS.lookup(n).image_only)


def _image_error(op: str, shape: tuple[int, ...]) -> ConfigError:
    kind = "tabular input shape" if len(shape) == 1 else "input shape"
    return ConfigError(
        f"augmentation '{op}' needs image data (C, H, W); got {kind} {tuple(shape)} — "
        f"tabular data allows: {_tabular_names()}"
    )


class Augmentation(Component):
    """Base op: ``op(X, rng)`` returns an augmented copy of the batch X."""

    kind = "augmentation"
    #: True when the op only makes sense for images (N, C, H, W).
    image_only: ClassVar[bool] = True
    #: True for ops that must mix labels too (mixup): use :meth:`mix` instead of calling the op.
    mixes_labels: ClassVar[bool] = False

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if self.image_only and X.ndim != 4:
            raise _image_error(self.name, X.shape[1:])
        out = self.transform(X, rng)
        if np.may_share_memory(out, X):
            out = out.copy()
        return out.astype(X.dtype, copy=False)

    def transform(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def check_shape(self, input_shape: tuple[int, ...]) -> None:
        """Refuse a per-sample shape the op cannot handle (ConfigError)."""
        if self.image_only and len(input_shape) != 3:
            raise _image_error(self.name, input_shape)


# --- ops -----------------------------------------------------------------------------------------


@AUGMENTATIONS.register("shift", "translate")
class Shift(Augmentation):
    """Translate each image by whole pixels, dy, dx ~ U{−pixels, …, pixels}, zero fill."""

    def __init__(self, pixels: int = 1):
        self.pixels = check_int("shift", "pixels", pixels, 0)

    def transform(self, X, rng):
        dy, dx = rng.integers(-self.pixels, self.pixels + 1, size=(2, X.shape[0]))
        return shift_images(X, dy, dx)


@AUGMENTATIONS.register("crop")
class Crop(Augmentation):
    """CIFAR-style random crop: pad by ``padding`` zeros, cut a random H × W window back out.

    A crop at offset o ∈ {0, …, 2p} of the padded image equals a shift by p − o, so this is a
    uniform shift in [−p, p] per axis, drawn as crop offsets.
    """

    def __init__(self, padding: int = 2):
        self.padding = check_int("crop", "padding", padding, 0)

    def transform(self, X, rng):
        oy, ox = rng.integers(0, 2 * self.padding + 1, size=(2, X.shape[0]))
        return shift_images(X, self.padding - oy, self.padding - ox)


@AUGMENTATIONS.register("rotate")
class Rotate(Augmentation):
    """Rotate each image about its centre by θ ~ U[−degrees, degrees], bilinear, zero fill."""

    def __init__(self, degrees: float = 15.0):
        check_range("rotate", "degrees", degrees, 0.0, 180.0)
        self.degrees = float(degrees)

    def transform(self, X, rng):
        theta = np.deg2rad(rng.uniform(-self.degrees, self.degrees, size=X.shape[0]))
        cos, sin = np.cos(theta), np.sin(theta)
        return about_centre(X, np.array([[cos, -sin], [sin, cos]]).transpose(2, 0, 1))


@AUGMENTATIONS.register("scale", "zoom")
class Scale(Augmentation):
    """Zoom each image about its centre by s ~ U[low, high] (s > 1 enlarges), bilinear, zero fill."""

    def __init__(self, low: float = 0.9, high: float = 1.1):
        self.low, self.high = _bounds("scale", low, high, positive=True)

    def transform(self, X, rng):
        inv = 1.0 / rng.uniform(self.low, self.high, size=X.shape[0])
        return about_centre(X, inv[:, None, None] * np.eye(2))


@AUGMENTATIONS.register("flip")
class Flip(Augmentation):
    """Mirror each image left–right with probability p."""

    def __init__(self, p: float = 0.5):
        check_range("flip", "p", p, 0.0, 1.0)
        self.p = float(p)

    def transform(self, X, rng):
        flip = rng.random(X.shape[0]) < self.p
        return np.where(flip[:, None, None, None], X[..., ::-1], X)


@AUGMENTATIONS.register("brightness")
class Brightness(Augmentation):
    """Add b ~ U[−delta, delta] to every pixel of a sample (data are standardized, so delta is in σ)."""

    def __init__(self, delta: float = 0.2):
        check_range("brightness", "delta", delta, 0.0)
        self.delta = float(delta)

    def transform(self, X, rng):
        b = rng.uniform(-self.delta, self.delta, size=(X.shape[0], 1, 1, 1))
        return X + b.astype(X.dtype)


@AUGMENTATIONS.register("contrast")
class Contrast(Augmentation):
    """x ← m + f·(x − m), f ~ U[low, high], m the sample's mean over all its pixels and channels."""

    def __init__(self, low: float = 0.8, high: float = 1.2):
        self.low, self.high = _bounds("contrast", low, high, positive=False)

    def transform(self, X, rng):
        f = rng.uniform(self.low, self.high, size=(X.shape[0], 1, 1, 1)).astype(X.dtype)
        mean = X.mean(axis=(1, 2, 3), keepdims=True)
        return mean + f * (X - mean)


@AUGMENTATIONS.register("noise")
class Noise(Augmentation):
    """Add Gaussian noise N(0, std²) to every value; images or tabular features."""

    image_only = False

    def __init__(self, std: float = 0.1):
        check_range("noise", "std", std, 0.0)
        self.std = float(std)

    def transform(self, X, rng):
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        return X + self.std * rng.standard_normal(X.shape, dtype=dtype)


@AUGMENTATIONS.register("cutout", "erasing")
class Cutout(Augmentation):
    """Zero a random size × size square of each image, in all channels, with probability p.

    DeVries & Taylor 2017. The square lies wholly inside the image (as in torchvision's
    RandomErasing), so exactly size² pixels per channel are erased; the original lets it cross the
    border.
    """

    def __init__(self, size: int = 2, p: float = 1.0):
        self.size = check_int("cutout", "size", size, 1)
        check_range("cutout", "p", p, 0.0, 1.0)
        self.p = float(p)

    def check_shape(self, input_shape):
        super().check_shape(input_shape)
        if self.size > min(input_shape[1:]):
            raise ConfigError(
                f"cutout: size={self.size} is larger than the images {input_shape[1]}x{input_shape[2]}; "
                f"allowed: 1 <= size <= {min(input_shape[1:])}"
            )

    def transform(self, X, rng):
        n, _, h, w = X.shape
        self.check_shape(X.shape[1:])
        top = rng.integers(0, h - self.size + 1, size=(n, 1))
        left = rng.integers(0, w - self.size + 1, size=(n, 1))
        apply = rng.random((n, 1)) < self.p
        rows = (np.arange(h) >= top) & (np.arange(h) < top + self.size) & apply  # (N, H)
        cols = (np.arange(w) >= left) & (np.arange(w) < left + self.size)  # (N, W)
        erase = rows[:, None, :, None] & cols[:, None, None, :]
        return np.where(erase, X.dtype.type(0), X)


@AUGMENTATIONS.register("elastic")
class Elastic(Augmentation):
    """Elastic distortion (Simard, Steinkraus & Platt 2003).

    Each sample draws two displacement fields Δr, Δc ~ U[−1, 1] per pixel, smooths them with a
    Gaussian of std ``sigma`` (a separable convolution, here the products G_H·Δ·G_Wᵀ with Gaussian
    matrices) and scales them by ``alpha``; the image is resampled bilinearly at p + α·(G ∗ Δ)(p).
    Small sigma gives random jitter, large sigma an almost rigid shift; Simard used σ ≈ 4–6.
    """

    def __init__(self, alpha: float = 8.0, sigma: float = 3.0):
        check_range("elastic", "alpha", alpha, 0.0)
        check_range("elastic", "sigma", sigma, 0.0)
        self.alpha, self.sigma = float(alpha), float(sigma)

    def transform(self, X, rng):
        n, _, h, w = X.shape
        field = rng.uniform(-1.0, 1.0, size=(2, n, h, w))
        gh, gw = gaussian_matrix(h, self.sigma), gaussian_matrix(w, self.sigma)
        dr, dc = self.alpha * (gh @ field @ gw.T)
        ii, jj = pixel_grid(h, w)
        return sample_bilinear(X, ii + dr, jj + dc)


@AUGMENTATIONS.register("mixup")
class Mixup(Augmentation):
    """mixup (Zhang et al. 2018): x̃ = λ·x_i + (1−λ)·x_j, ỹ = λ·y_i + (1−λ)·y_j, λ ~ Beta(α, α).

    One λ per batch and a random pairing j = perm(i), as in the authors' reference code. Since the
    labels must be mixed with the same λ, use :meth:`mix` (or :meth:`Pipeline.apply`); calling the
    op on inputs alone is refused. Works for images and tabular data.
    """

    image_only = False
    mixes_labels = True

    def __init__(self, alpha: float = 0.2):
        check_range("mixup", "alpha", alpha, 0.0, low_inclusive=False)
        self.alpha = float(alpha)

    def __call__(self, X, rng):
        raise ConfigError("mixup mixes labels as well as inputs; apply it with mix(X, Y_onehot, rng)")

    def mix(self, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Mixed copies of inputs X and one-hot (or soft) targets Y, same shapes and dtypes."""
        lam = float(rng.beta(self.alpha, self.alpha))
        perm = rng.permutation(X.shape[0])
        x = (lam * X + (1.0 - lam) * X[perm]).astype(X.dtype, copy=False)
        y = (lam * Y + (1.0 - lam) * Y[perm]).astype(Y.dtype, copy=False)
        return x, y


# --- pipelines -----------------------------------------------------------------------------------


class Pipeline:
    """Ops applied in order to each training batch; ``spec()`` gives back the parsed string."""

    def __init__(self, ops: list[Augmentation] | None = None):
        self.ops = list(ops or [])

    @property
    def mixes_labels(self) -> bool:
        return any(op.mixes_labels for op in self.ops)

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augment inputs only; a pipeline with mixup needs :meth:`apply` (labels change too)."""
        if self.mixes_labels:
            raise ConfigError("this augmentation pipeline contains mixup, which mixes labels; use apply(X, Y, rng)")
        out = X
        for op in self.ops:
            out = op(out, rng)  # each op returns a new array
        return out if self.ops else X.copy()

    def apply(self, X: np.ndarray, Y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Augment inputs and, for label-mixing ops, targets: returns new (X, Y)."""
        x, y = X, Y
        for op in self.ops:  # each op returns new arrays
            x, y = op.mix(x, y, rng) if op.mixes_labels else (op(x, rng), y)  # type: ignore[attr-defined]
        return (X.copy() if x is X else x), (Y.copy() if y is Y else y)

    def check(self, input_shape: tuple[int, ...]) -> None:
        """Raise ConfigError when an op does not fit data of this per-sample shape."""
        shape = tuple(int(d) for d in input_shape)
        for op in self.ops:
            op.check_shape(shape)

    def spec(self) -> str:
        return ",".join(op.spec() for op in self.ops) or "none"

    def __len__(self) -> int:
        return len(self.ops)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pipeline) and self.ops == other.ops

    def __repr__(self) -> str:
        return f"<augmentation pipeline {self.spec()}>"


def parse_augmentations(spec: str | Pipeline | Augmentation | None) -> Pipeline:
    """Parse ``shift:2,rotate:15,elastic:alpha=8,sigma=3`` into a :class:`Pipeline`.

    Items are split at commas. An item with ``name:`` starts an op (a plain value after the colon is
    its first parameter); a ``key=value`` item or a bare number continues the op before it, so
    ``scale:0.8,1.2`` is one op (low, high). ``None``, ``""`` and ``"none"`` give an empty pipeline.
    """
    if isinstance(spec, Pipeline):
        return spec
    if isinstance(spec, Augmentation):
        return Pipeline([spec])
    if spec is None or not str(spec).strip() or str(spec).strip().lower() == "none":
        return Pipeline([])
    groups: list[list[str]] = []
    for item in (part.strip() for part in str(spec).split(",")):
        if not item:
            raise SpecError(f"empty item in augmentation spec {spec!r} (two commas in a row?)")
        value = parse_value(item)
        if ":" not in item and ("=" in item or (isinstance(value, (int, float)) and not isinstance(value, bool))):
            if not groups:
                raise SpecError(
                    f"augmentation spec {spec!r} starts with {item!r}; name an op first, e.g. elastic:{item}"
                )
            groups[-1].append(item)
        else:
            groups.append([item])
    ops = []
    for first, *rest in groups:
        joiner = "," if ":" in first else ":"
        ops.append(AUGMENTATIONS.get(first + (joiner + ",".join(rest) if rest else "")))
    return Pipeline(ops)  # type: ignore[arg-type]
