"""Layers: dense, flatten, dropout, batch norm, residual, convolution, pooling and activations.

Importing this package registers every layer in the one registry ``LAYERS``; ``ACTIVATIONS`` is
the view of it holding the activations.
"""

from . import conv, dense, group_activations, pooling, regularization, residual, smooth_activations  # noqa: F401
from .activations import ACTIVATIONS, Activation
from .base import LAYERS, BuildContext, Layer, layer_from_config

__all__ = ["ACTIVATIONS", "LAYERS", "Activation", "BuildContext", "Layer", "layer_from_config"]
