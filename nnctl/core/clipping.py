"""Gradient clipping on the model's flat gradient buffer, in place.

* :func:`clip_by_global_norm` (PyTorch ``clip_grad_norm_``): treat all gradients as one vector g; if
  ‖g‖₂ exceeds ``max_norm``, rescale it to that length. The direction of the step is kept, only its
  size is capped, which tames exploding gradients (Pascanu et al. 2013). Because nnctl keeps every
  gradient in one flat buffer, "global" is simply the norm of that buffer. Keras' ``clipnorm``
  instead clips each variable separately, which changes the direction.
* :func:`clip_by_value`: clamp each component to [−limit, limit]; cheap, but it changes the direction.
* :func:`global_norm`: ‖g‖₂, reported per epoch as ``grad_norm``.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import check_range


def global_norm(grads: np.ndarray) -> float:
    """The L2 norm √(g·g) of all gradients as a float (one BLAS dot product).

    A float32 dot product overflows once ‖g‖ exceeds ~1.8e19; the norm is then recomputed on g
    scaled by its largest magnitude, so any finite gradient gives a finite norm.
    """
    flat = np.asarray(grads).reshape(-1)
    with np.errstate(over="ignore"):
        sq = float(np.dot(flat, flat))
    if math.isinf(sq):
        scale = float(np.max(np.abs(flat)))
        if math.isfinite(scale) and scale > 0:
            scaled = flat / flat.dtype.type(scale)
            return scale * math.sqrt(float(np.dot(scaled, scaled)))
    return math.sqrt(sq)


def clip_by_global_norm(grads: np.ndarray, max_norm: float) -> float:
    """Rescale ``grads`` in place so that their global L2 norm is at most ``max_norm``.

    As in PyTorch's ``clip_grad_norm_``: coefficient c = max_norm / (‖g‖ + 1e-6) and g ← c·g when
    c < 1 (the 1e-6 guards against dividing by zero). Returns the norm measured *before* clipping,
    which is what is worth logging: it shows how often and how hard the limit bites.
    """
    check_range("clip_by_global_norm", "max_norm", max_norm, 0.0, low_inclusive=False)
    norm = global_norm(grads)
    coef = float(max_norm) / (norm + 1e-6)
    if coef < 1.0:
        grads *= coef
    return norm


def clip_by_value(grads: np.ndarray, limit: float) -> None:
    """Clamp every gradient component to [−limit, limit], in place."""
    check_range("clip_by_value", "limit", limit, 0.0, low_inclusive=False)
    np.clip(grads, -float(limit), float(limit), out=grads)
