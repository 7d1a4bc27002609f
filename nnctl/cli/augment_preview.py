"""``nnctl augment-preview``: see what an augmentation does before spending a sweep on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from ..core.errors import ConfigError
from ..data import load_dataset
from ..data.augment import parse_augmentations
from ..results.outputs import check_output
from ..results.plots import plot_augment_grid
from . import render


def augment_preview_command(
    augment: str = typer.Option(
        ..., "--augment", help="Augmentation spec, e.g. shift:2,rotate:15,elastic:alpha=8,sigma=3."
    ),
    data: str = typer.Option("digits", "--data", help="An image dataset (digits, mnist:path=DIR, ...)."),
    out: Path = typer.Option(Path("augment_preview.png"), "--out", help="Picture to write (.png or .svg)."),
    force: bool = typer.Option(False, "--force", help="Replace --out even if it is not a file nnctl wrote."),
    samples: int = typer.Option(6, "--samples", min=1, max=32, help="Rows: how many images."),
    draws: int = typer.Option(5, "--draws", min=1, max=16, help="Columns: augmented draws per image."),
    seed: int = typer.Option(0, "--seed", help="Seed for picking images and drawing augmentations."),
) -> None:
    """Write a grid of original images (first column) next to augmented draws, a row per image."""
    check_output(out, "picture", force=force)
    dataset = load_dataset(data, seed=seed)
    if not dataset.is_image:
        raise ConfigError(f"augment-preview needs image data (C, H, W); '{data}' has input shape {dataset.input_shape}")
    pipeline = parse_augmentations(augment)
    pipeline.check(dataset.input_shape)
    if pipeline.mixes_labels:
        raise ConfigError(
            "augment-preview shows input transformations; mixup mixes pairs of samples — preview it without mixup"
        )
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(dataset.X), size=min(samples, len(dataset.X)), replace=False)
    original = dataset.X[picks]
    versions = [pipeline(original, rng) for _ in range(draws)]
    classes = dataset.classes or []
    labels = (
        [str(classes[int(c)]) if int(c) < len(classes) else str(c) for c in dataset.y[picks]]
        if dataset.task == "classification"
        else None
    )
    plot_augment_grid(original, versions, out, title=f"{data}: {pipeline.spec()}", row_labels=labels)
    render.console().print(f"wrote {out}")
