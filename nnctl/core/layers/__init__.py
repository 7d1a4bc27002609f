"""Layers: dense, flatten, dropout, batch norm, residual, convolution and pooling.

Importing this package registers every layer in ``LAYERS``.
"""

from . import conv, dense, pooling, regularization, residual  # noqa: F401  (registration)
from .base import LAYERS, BuildContext, Layer, layer_from_config

__all__ = ["LAYERS", "BuildContext", "Layer", "layer_from_config"]
