"""Layers: dense, dropout, batch norm, residual, flatten (convolution and pooling in their own modules)."""
