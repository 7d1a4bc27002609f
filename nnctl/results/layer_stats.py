"""Per-layer diagnostics over epochs: the heatmaps that show which layers vanish, die or saturate.

``diagnostics.csv`` (written with ``nnctl train --diagnostics``) holds one value per epoch, layer
and statistic. Laid out as a matrix — layers down, epochs across — each statistic becomes a
heatmap: a gradient norm that fades towards the first layers is a vanishing gradient, a dead
fraction that turns dark after a few epochs is ReLUs dying, a saturated fraction near 1 from epoch
0 is tanh units pinned at ±1 by too-large weights.

The cells where a rule of :mod:`nnctl.training.diagnostics` holds are marked, epoch by epoch (the
warnings in ``metrics.csv`` name only the first epoch each rule fired): more than half of a layer's
units dead or saturated, an update/weight ratio outside [1e-5, 1e-1], hidden units still identical
after epoch 0 (symmetry > 0.99), and, for the whole model, a first/last gradient-norm ratio below
1e-3 (vanishing) or above 1e3 (exploding).

:func:`heatmaps` gives the matrices as plain lists (for the report pages); :func:`plot_diagnostics`
draws them with matplotlib for slides (``nnctl plot RUN --diagnostics``).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..core.layers import ACTIVATIONS

#: the heatmaps, in the order shown: statistic, title, whether its colour scale is logarithmic
HEATMAP_STATS = (
    ("grad_norm", "gradient norm ‖∂L/∂W‖", True),
    ("act_std", "activation std (outputs of the activation layers)", False),
    ("dead", "dead ReLU units (fraction)", False),
    ("saturated", "saturated units (fraction)", False),
    ("update_ratio", "update/weight ratio ‖ΔW‖/‖W‖", True),
    ("symmetry", "symmetry of hidden units (1 = identical)", False),
)

#: the rules of nnctl.training.diagnostics, as tests on one recorded value
RULES = {
    "dead": ("dead_units", lambda v, epoch: v > 0.5, "more than 50% of the units dead"),
    "saturated": ("saturated_units", lambda v, epoch: v > 0.5, "more than 50% of the outputs saturated"),
    "update_ratio": (
        "update_ratio",
        lambda v, epoch: v > 0 and (v < 1e-5 or v > 1e-1),
        "update ratio outside [1e-5, 1e-1]",
    ),
    "symmetry": ("symmetric_units", lambda v, epoch: epoch > 0 and v > 0.99, "hidden units still identical"),
    "grad_ratio_first_last": (
        "vanishing_or_exploding",
        lambda v, epoch: v < 1e-3 or v > 1e3,
        "first/last gradient-norm ratio outside [1e-3, 1e3]",
    ),
}


def _layer_order(name: str) -> tuple:
    head = str(name).split(":", 1)[0]
    return (0, int(head), str(name)) if head.isdigit() else (1, 0, str(name))


def fired(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Every (epoch, layer, statistic) where a rule holds: ``{epoch, layer, stat, rule, value, why}``."""
    out: list[dict[str, Any]] = []
    if frame is None or frame.empty:
        return out
    for stat, (rule, test, why) in RULES.items():
        rows = frame[frame["stat"] == stat]
        for epoch, layer, value in zip(rows["epoch"], rows["layer"], rows["value"]):
            if value is not None and math.isfinite(value) and test(float(value), int(epoch)):
                if stat == "grad_ratio_first_last":
                    why_here = (
                        "vanishing gradients (ratio < 1e-3)" if value < 1e-3 else "exploding gradients (ratio > 1e3)"
                    )
                else:
                    why_here = why
                out.append(
                    {
                        "epoch": int(epoch),
                        "layer": str(layer),
                        "stat": stat,
                        "rule": rule,
                        "value": float(value),
                        "why": why_here,
                    }
                )
    out.sort(key=lambda f: (f["epoch"], _layer_order(f["layer"])))
    return out


def heatmaps(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One matrix per statistic present: ``{stat, title, log, layers, epochs, values, marks}``.

    ``values[i][j]`` is the statistic of ``layers[i]`` at ``epochs[j]`` (None where not measured);
    ``marks`` lists the [j, i] cells where a rule holds. The gradient-norm map is also marked at
    every cell of an epoch whose first/last gradient-norm ratio broke its rule.
    """
    if frame is None or frame.empty:
        return []
    rules = fired(frame)
    model_epochs = {f["epoch"] for f in rules if f["stat"] == "grad_ratio_first_last"}
    maps = []
    for stat, title, log in HEATMAP_STATS:
        rows = frame[(frame["stat"] == stat) & (frame["layer"] != "model")]
        if stat == "act_std":  # the hidden representations; a dense layer's output is a pre-activation
            kinds = rows["layer"].astype(str).str.split(":").str[1]
            if kinds.isin(ACTIVATIONS.names(include_aliases=True)).any():
                rows = rows[kinds.isin(ACTIVATIONS.names(include_aliases=True))]
        if stat == "symmetry" and not (rows["value"] > 0.9).any():
            continue  # units that were never alike: a blank map says nothing
        if rows.empty:
            continue
        table = rows.pivot_table(index="layer", columns="epoch", values="value", aggfunc="last")
        layers = sorted(table.index, key=_layer_order)
        table = table.loc[layers]
        epochs = [int(e) for e in table.columns]
        values = [[None if not math.isfinite(v) else float(v) for v in row] for row in table.to_numpy(dtype=float)]
        where = {(f["epoch"], f["layer"]) for f in rules if f["stat"] == stat}
        if stat == "grad_norm":
            where |= {(e, layer) for e in model_epochs for layer in layers}
        marks = sorted([epochs.index(e), layers.index(layer)] for e, layer in where if e in epochs and layer in layers)
        maps.append(
            {
                "stat": stat,
                "title": title,
                "log": log,
                "layers": [str(x) for x in layers],
                "epochs": epochs,
                "values": values,
                "marks": marks,
            }
        )
    return maps


def grad_ratio(frame: pd.DataFrame) -> dict[str, list] | None:
    """The model's first/last-layer gradient-norm ratio per epoch (None when not recorded)."""
    if frame is None or frame.empty:
        return None
    rows = frame[(frame["layer"] == "model") & (frame["stat"] == "grad_ratio_first_last")].sort_values("epoch")
    if rows.empty:
        return None
    return {"epoch": [int(e) for e in rows["epoch"]], "value": [float(v) for v in rows["value"]]}


def plot_diagnostics(frame: pd.DataFrame, path: str | os.PathLike, title: str = "") -> Path:
    """The heatmaps of :func:`heatmaps` in one picture (PNG or SVG by extension), one panel per
    statistic, layers down and epochs across, cells where a rule holds marked with ×."""
    from matplotlib.colors import LogNorm, Normalize
    from matplotlib.ticker import MaxNLocator

    from ..core.errors import DataError
    from .plots import _figure, save_figure

    maps = heatmaps(frame)
    if not maps:
        raise DataError("diagnostics.csv has no per-layer statistics to draw")
    columns = 2 if len(maps) > 1 else 1
    rows = math.ceil(len(maps) / columns)
    n_layers = max(len(m["layers"]) for m in maps)
    height = max(2.4, 0.22 * n_layers + 1.3)
    fig = _figure((6.2 * columns, height * rows + 0.7))
    axes = fig.subplots(rows, columns, squeeze=False)
    for k, m in enumerate(maps):
        ax = axes[k // columns][k % columns]
        data = np.array([[np.nan if v is None else v for v in row] for row in m["values"]], dtype=float)
        finite = data[np.isfinite(data)]
        if m["log"]:
            positive = finite[finite > 0]
            low, high = (positive.min(), positive.max()) if len(positive) else (1e-8, 1.0)
            norm = LogNorm(vmin=low, vmax=max(high, low * 10))
            data = np.where(data > 0, data, np.nan)
        else:
            top = 1.0 if m["stat"] in ("dead", "saturated", "symmetry") else (finite.max() if len(finite) else 1.0)
            norm = Normalize(vmin=0.0, vmax=top or 1.0)
        image = ax.imshow(
            data,
            aspect="auto",
            interpolation="nearest",
            cmap="viridis",
            norm=norm,
            extent=(m["epochs"][0] - 0.5, m["epochs"][-1] + 0.5, len(m["layers"]) - 0.5, -0.5),
        )
        for j, i in m["marks"]:
            ax.plot(m["epochs"][j], i, marker="x", color="red", markersize=6, markeredgewidth=1.6)
        ax.set_yticks(range(len(m["layers"])))
        ax.set_yticklabels(m["layers"], fontsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(m["title"] + (" (log colour)" if m["log"] else ""), fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    for k in range(len(maps), rows * columns):
        axes[k // columns][k % columns].set_visible(False)
    note = "× a diagnostics rule holds in that cell" if any(m["marks"] for m in maps) else "no diagnostics rule fired"
    fig.suptitle((title + "\n" if title else "") + note, fontsize=10)
    return save_figure(fig, path)
