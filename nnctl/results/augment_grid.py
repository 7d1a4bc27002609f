"""A PNG grid of original and augmented images, to see an augmentation before a sweep uses it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..core.errors import ConfigError, DataError
from .store import atomic_write_bytes


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        raise ConfigError("plotting needs matplotlib: pip install matplotlib") from None
    return plt


def save_augment_grid(original: np.ndarray, versions: list[np.ndarray], path: str | Path, title: str = "") -> None:
    """Rows are samples; the first column is the original, the others augmented draws.

    ``original`` has shape (N, C, H, W); each entry of ``versions`` the same shape. The first channel
    is shown in grey, each image scaled to its own range.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise DataError(f"cannot write '{path}': directory '{path.parent}' does not exist")
    plt = _pyplot()
    n, cols = original.shape[0], 1 + len(versions)
    fig, axes = plt.subplots(n, cols, figsize=(1.2 * cols, 1.2 * n + (0.4 if title else 0)), squeeze=False)
    for i in range(n):
        for j, images in enumerate([original, *versions]):
            ax = axes[i][j]
            ax.imshow(images[i, 0], cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("original" if j == 0 else f"draw {j}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
