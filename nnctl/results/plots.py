"""PNG pictures of training: range tests, one run's learning curves, several runs overlaid.

Learning curves are how the notes diagnose a run. Training and validation loss falling together
and levelling off: a good fit. Training loss still falling while validation loss turns up (and
the gap in accuracy widens): overfitting, and the best epoch is where validation was best. Both
high and flat: underfitting (too small a model, too low a rate, too few epochs).

Figures are drawn with matplotlib's object API on the Agg canvas (no pyplot, no global backend
state, no display needed), at a fixed size and resolution so every picture has a known pixel size.
matplotlib is imported only when a picture is drawn.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import ConfigError, DataError
from .outputs import MARK, mark_svg
from .store import atomic_write_bytes

DPI = 100
LR_FIND_SIZE = (8.0, 5.0)  # inches: 800 × 500 pixels
CURVES_SIZE = (11.0, 4.5)  # 1100 × 450
SUGGESTION_COLORS = {"valley": "tab:green", "steep": "tab:orange", "minimum": "tab:red"}


def require_matplotlib() -> None:
    """Raise ConfigError with the install hint when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ConfigError("plotting needs matplotlib: pip install matplotlib") from None


def _figure(size: tuple[float, float]):
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write a figure atomically, PNG or SVG by the file's extension, with nnctl's mark in it (so
    that a later run may replace it, see outputs.py): the one way figures are saved.

    User-named paths are checked by :func:`~nnctl.results.outputs.check_output` before the work
    that draws them; this only refuses what cannot be a picture at all.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise DataError(f"cannot write '{path}': directory '{path.parent}' does not exist")
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("png", "svg"):
        raise ConfigError(f"picture '{path}' must end in .png or .svg")
    buf = io.BytesIO()
    if kind == "png":
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": MARK})
        data = buf.getvalue()
    else:
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": MARK})
        data = mark_svg(buf.getvalue())
    atomic_write_bytes(path, data)
    return path


def plot_lr_find(
    tests: list[Any],
    path: str | os.PathLike,
    recommended: str = "minimum",
    stats: dict[str, dict[str, float]] | None = None,
    title: str = "learning-rate range test",
) -> Path:
    """Smoothed loss against log(lr) (raw loss faint), with the suggestions marked.

    One test: each suggestion is a dot on the curve. Several (repeats): one curve per seed and a
    vertical line at each suggestion's geometric mean over the seeds.
    """
    fig = _figure(LR_FIND_SIZE)
    ax = fig.add_subplot()
    many = len(tests) > 1
    for k, t in enumerate(tests):
        color = f"C{k % 10}" if many else "tab:blue"
        ax.plot(t.lrs, t.losses, color=color, alpha=0.25, linewidth=0.8)
        ax.plot(t.lrs, t.smoothed, color=color, linewidth=1.8, label=f"seed {t.seed}" if many else "smoothed loss")
    for name, color in SUGGESTION_COLORS.items():
        best = " (recommended)" if name == recommended else ""
        if many and stats is not None:
            s = stats[name]
            ax.axvline(
                s["geomean"],
                color=color,
                linestyle="--",
                linewidth=2.2 if best else 1.2,
                label=f"{name}: {s['geomean']:.3g} ×/÷ {s['factor']:.2f}{best}",
            )
        else:
            lr, loss = tests[0].points[name]
            ax.plot(
                [lr],
                [loss],
                "o",
                color=color,
                markersize=11 if best else 8,
                markeredgecolor="black" if best else color,
                label=f"{name}: {lr:.3g}{best}",
            )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("training loss")
    ax.set_title(title)
    # y range: everything up to each curve's minimum, plus room to see the blow-up begin
    low = min(float(np.nanmin(t.smoothed)) for t in tests)
    high = max(float(np.nanmax(t.smoothed[: int(np.nanargmin(t.smoothed)) + 1])) for t in tests)
    if math.isfinite(low) and math.isfinite(high):
        pad = abs(high - low) + 1e-3
        ax.set_ylim(low - 0.1 * pad, high + 0.3 * pad)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=9)
    return save_figure(fig, path)


def plot_curves(record: Any, path: str | os.PathLike, title: str | None = None) -> Path:
    """One run: loss and accuracy (or MAE), training dashed and validation solid, best epoch marked."""
    curve = record.curve
    if curve is None or len(curve) == 0 or "epoch" not in curve.columns:
        raise DataError(f"run '{record.path}' has no curve.csv rows to plot")
    fig = _figure(CURVES_SIZE)
    from matplotlib.ticker import MaxNLocator

    second = "acc" if "train_acc" in curve.columns else "mae"
    best = record.metrics.get("best_epoch")
    monitor = record.metrics.get("monitor") or "val_loss"
    for i, (kind, label) in enumerate(
        (("loss", "loss"), (second, "accuracy" if second == "acc" else "mean absolute error"))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        for split, style in (("train", "--"), ("val", "-")):
            col = f"{split}_{kind}"
            if col in curve.columns and curve[col].notna().any():
                ax.plot(
                    curve["epoch"],
                    curve[col],
                    style,
                    color="tab:blue" if split == "train" else "tab:orange",
                    linewidth=1.8,
                    label="training" if split == "train" else "validation",
                )
        if best is not None and not (isinstance(best, float) and math.isnan(best)):
            ax.axvline(
                int(best), color="gray", linestyle=":", linewidth=1.5, label=f"best epoch {int(best)} ({monitor})"
            )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=9)
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(title or record.path.name, 120)), fontsize=11)
    return save_figure(fig, path)


def _palette(n: int) -> list[Any]:
    """n distinguishable colours: tab10, tab20 up to 20, then evenly spaced along a long colormap."""
    from matplotlib import colormaps

    if n <= 10:
        return [f"C{i}" for i in range(n)]
    if n <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["turbo"]
    return [cmap(0.05 + 0.9 * i / (n - 1)) for i in range(n)]


def plot_compare(groups: Any, path: str | os.PathLike, metric: str = "val_acc", **options: Any) -> Path:
    """:func:`compare_figure`, written to ``path``."""
    return save_figure(compare_figure(groups, metric, **options), path)


def compare_figure(
    groups: Any,
    metric: str = "val_acc",
    *,
    log: bool = False,
    ylim: tuple[float | None, float | None] | None = None,
    title: str | None = None,
):
    """Several runs' curves of ``metric``: one panel per value of the facet key, one colour per line
    (a value of the other differing keys), the mean over a line's runs (seeds) with their min–max
    as a band, validation solid and the training counterpart dashed; the legend sits outside the
    data. ``groups`` is a :class:`~nnctl.results.curve_groups.CurveGroups`. Loss axes start their
    automatic y range after epoch 0 (whose loss would squash the rest); ``log`` and ``ylim`` set
    the axis by hand.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    panels = groups.panels
    n_panels = len(panels)
    columns = min(n_panels, 3)
    rows = math.ceil(n_panels / columns)
    labels = list(dict.fromkeys(line for _, lines in panels for line, _ in lines))
    colours = dict(zip(labels, _palette(len(labels))))
    legend_width = min(0.07 * max(len(x) for x in labels), 4.5) + 0.6 if labels else 0
    panel_width = {1: 6.5, 2: 5.0}.get(columns, 4.2)
    fig = _figure((panel_width * columns + legend_width, (4.0 if rows == 1 else 3.4) * rows + 0.9))
    axes = fig.subplots(rows, columns, squeeze=False, sharey=True)
    train_metric = "train_" + metric.split("_", 1)[1] if metric.startswith("val_") else None
    loss_like = not metric.endswith(("acc", "r2"))
    seeds_shared = False
    high = -math.inf
    low = math.inf
    for k, (panel, lines) in enumerate(panels):
        ax = axes[k // columns][k % columns]
        for line, records in lines:
            colour = colours[line]
            for name, style, width, band in ((metric, "-", 1.8, True), (train_metric, "--", 1.0, False)):
                curves = [r.curve[["epoch", name]].dropna() for r in records if name and name in r.curve.columns]
                curves = [c for c in curves if len(c)]
                if not curves:
                    continue
                table = pd_concat_by_epoch(curves, name)
                common = table.dropna()
                mean = common.mean(axis=1)
                ax.plot(common.index, mean, style, color=colour, linewidth=width, alpha=1.0 if band else 0.8)
                if band and table.shape[1] > 1:
                    seeds_shared = True
                    ax.fill_between(
                        common.index, common.min(axis=1), common.max(axis=1), color=colour, alpha=0.15, linewidth=0
                    )
                visible = mean[mean.index >= 1] if loss_like and (mean.index >= 1).any() else mean
                if len(visible):
                    high, low = max(high, float(visible.max())), min(low, float(visible.min()))
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, alpha=0.3)
        if k % columns == 0:
            ax.set_ylabel(metric + (" (solid)" if train_metric else ""))
    for k in range(n_panels, rows * columns):
        axes[k // columns][k % columns].set_visible(False)
    ax0 = axes[0][0]
    if log:
        ax0.set_yscale("log")
    elif loss_like and math.isfinite(high) and math.isfinite(low):
        pad = 0.05 * (high - low or abs(high) or 1.0)
        ax0.set_ylim(low - pad, high + pad)
    if ylim is not None:
        ax0.set_ylim(*ylim)
    handles = [Line2D([], [], color=colours[x], linewidth=2.5) for x in labels]
    names = list(labels)
    if train_metric:
        handles += [Line2D([], [], color="black", linestyle="-"), Line2D([], [], color="black", linestyle="--")]
        names += [f"{metric} (validation)", f"{train_metric} (training)"]
    legend_title = ", ".join(groups.colour) if groups.colour else None
    fig.legend(
        handles, names, loc="outside right upper", fontsize=8, title=legend_title, title_fontsize=8, frameon=False
    )
    heading = title or " — ".join(x for x in (groups.common, metric) if x)
    notes = "lines: mean over seeds; band: their min–max" if seeds_shared else ""
    fig.suptitle(heading + (f"\n{notes}" if notes else ""), fontsize=11)
    return fig


EXPERIMENT_SIZE = (10.0, 5.2)  # 1000 × 520
_SPLIT_STYLE = {"train": "--", "eval_train": "--", "val": "-", "test": ":"}


def plot_experiment(
    groups: list[tuple[str, list[Any]]], metrics: list[str], path: str | os.PathLike, title: str, subtitle: str = ""
) -> Path | None:
    """An experiment's curves: one colour per group of trials, one line style per metric (training
    dashed, validation solid), the mean over the group's seeds as a line and their min–max as a band.

    ``groups`` pairs a label with trials that have ``frames()`` (curve, diagnostics). Returns None
    when no trial has any of ``metrics``.
    """
    import textwrap

    fig = _figure(EXPERIMENT_SIZE)
    ax = fig.add_subplot()
    drawn = 0
    for k, (label, trials) in enumerate(groups):
        curves = [c for c in (t.frames()[0] for t in trials) if "epoch" in c]
        color = f"C{k % 10}"
        for metric in metrics:
            have = [c[["epoch", metric]].dropna() for c in curves if metric in c and c[metric].notna().any()]
            if not have:
                continue
            table = pd_concat_by_epoch(have, metric)
            style = _SPLIT_STYLE.get(metric.split("_")[0], "-")
            name = label if len(metrics) == 1 else f"{label} · {metric}"
            n = table.shape[1]
            common = table.dropna()  # epochs every seed reached: the mean and band are over all of them
            ax.plot(
                common.index,
                common.mean(axis=1),
                style,
                color=color,
                linewidth=1.8,
                label=name + (f" (mean of {n} seeds)" if n > 1 else ""),
            )
            if n > 1:
                ax.fill_between(
                    common.index, common.min(axis=1), common.max(axis=1), color=color, alpha=0.15, linewidth=0
                )
            longer = table.loc[table.index >= (common.index.max() if len(common) else table.index.min())]
            for column in longer.columns:  # seeds that ran longer (early stopping): each on its own, thin
                tail = longer[column].dropna()
                if len(tail) > 1:
                    ax.plot(tail.index, tail.values, style, color=color, linewidth=0.8, alpha=0.5)
            drawn += 1
    if not drawn:
        return None
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(" / ".join(metrics))
    if all("loss" in m for m in metrics) and all(line.get_ydata().min() > 0 for line in ax.get_lines()):
        from matplotlib.ticker import FuncFormatter

        ax.set_yscale("log")  # the epoch-0 loss would squash the rest; a gap reads as a ratio
        ax.set_ylabel(" / ".join(metrics) + " (log scale)")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "235" else ""))
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        title="band: min–max over seeds; thin: seeds that ran longer" if any(len(t) > 1 for _, t in groups) else None,
        title_fontsize=8,
    )
    fig.suptitle("\n".join(textwrap.wrap(title, 90)), fontsize=11)
    if subtitle:
        ax.set_title("\n".join(textwrap.wrap(subtitle, 80)), fontsize=9)
    return save_figure(fig, path)


def pd_concat_by_epoch(curves: list[Any], metric: str):
    """One column per curve, indexed by epoch (curves of different lengths leave NaN)."""
    import pandas as pd

    return pd.concat([c.set_index("epoch")[metric].rename(i) for i, c in enumerate(curves)], axis=1).sort_index()


def plot_augment_grid(
    original: np.ndarray,
    versions: list[np.ndarray],
    path: str | os.PathLike,
    title: str = "",
    row_labels: list[str] | None = None,
) -> Path:
    """Rows are samples (labelled with their class), the first column the original, the others
    augmented draws. Images have shape (N, C, H, W): three channels are shown in colour, otherwise
    the first channel in grey, each image scaled to its own range."""
    n, cols = original.shape[0], 1 + len(versions)
    fig = _figure((1.2 * cols + (0.6 if row_labels else 0), 1.2 * n + (0.5 if title else 0)))
    grid = fig.subplots(n, cols, squeeze=False)
    for i in range(n):
        for j, images in enumerate([original, *versions]):
            ax = grid[i][j]
            image = images[i]
            if image.shape[0] == 3:
                lo, hi = float(image.min()), float(image.max())
                ax.imshow(
                    np.transpose((image - lo) / (hi - lo if hi > lo else 1.0), (1, 2, 0)), interpolation="nearest"
                )
            else:
                ax.imshow(image[0], cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title("original" if j == 0 else f"draw {j}", fontsize=8)
            if j == 0 and row_labels:
                ax.set_ylabel(row_labels[i], fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=9)
    return save_figure(fig, path)
