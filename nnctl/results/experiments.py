"""Reading trial files for experiments, and writing an experiment's report (markdown + plot)."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .store import atomic_write_bytes, atomic_write_text


def trial_frames(path: Path | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A trial's curve.csv and diagnostics.csv (empty frames when absent)."""
    if path is None:
        return pd.DataFrame(), pd.DataFrame()
    curve = pd.read_csv(path / "curve.csv") if (path / "curve.csv").is_file() else pd.DataFrame()
    diag = pd.read_csv(path / "diagnostics.csv") if (path / "diagnostics.csv").is_file() else pd.DataFrame()
    return curve, diag


def _fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "nan"
    return f"{value:.4g}"


def write_report(folder: Path, outcome, groups: list[tuple[str, list[Any]]]) -> Path:
    """Write report.md (claim, verdict, numbers) and curves.png (mean curve per group) into ``folder``."""
    exp = outcome.experiment
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# {exp.claim}",
        "",
        f"**{outcome.verdict}**" + (" (fast version)" if outcome.fast else ""),
        "",
        f"> {exp.hypothesis}",
        "",
        f"Source: {exp.source}" if exp.source else "",
        "",
        f"Expectation: `{exp.expect.text}`"
        + (f"; effect (left − right of the first comparison): {_fmt(outcome.effect)}" if outcome.effect is not None else ""),
        "",
        "| term | value | n | values |",
        "|---|---|---|---|",
    ]
    for term in outcome.terms:
        shown = ", ".join(_fmt(v) for v in term.values[:12]) + (" …" if len(term.values) > 12 else "")
        lines.append(f"| `{term.selector.text()}` | {_fmt(term.value)} | {len(term.values) or '-'} | {shown} |")
    lines += ["", "Sweeps: " + ", ".join(f"{label}: `{path.name}`" for label, path in outcome.sweeps.items()), ""]
    if _plot(folder / "curves.png", exp.metric, groups):
        lines += [f"![{exp.metric} per group](curves.png)", ""]
    path = folder / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


def _plot(path: Path, metric: str, groups: list[tuple[str, list[Any]]]) -> bool:
    """Mean curve of ``metric`` per group of trials (one line per group)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    drawn = 0
    for label, trials in groups:
        curves = [t.frames()[0] for t in trials]
        curves = [c for c in curves if metric in c]
        if not curves:
            continue
        joined = pd.concat([c[["epoch", metric]] for c in curves]).groupby("epoch")[metric].mean()
        ax.plot(joined.index, joined.values, label=label)
        drawn += 1
    if not drawn:
        plt.close(fig)
        return False
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return True
