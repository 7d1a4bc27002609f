"""nnctl: a command-line experiment runner for studying how neural networks train."""

__version__ = "0.1.0"
