"""A comparison table as people read it: formatted cells, Markdown, and the raw CSV file."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd

from .formatting import mean_std, number
from .grouping import Grouped
from .outputs import write_output


def display_frame(frame: pd.DataFrame, grouped: Grouped | None = None) -> pd.DataFrame:
    """Strings for the terminal and Markdown; a grouped table shows ``mean ± std`` per metric.
    Resolved specs (``resolved_*``) stay in the CSV."""
    if grouped is None:
        frame = frame[[c for c in frame.columns if not str(c).startswith("resolved_")]]
        return frame.apply(lambda col: col.map(number)).astype(str)
    g = grouped.frame
    out = pd.DataFrame({"group": g["group"], "n": g["n"].astype(str)})
    for col in [c[: -len("_mean")] for c in g.columns if c.endswith("_mean")]:
        out[col] = [
            number(m) if n < 2 or math.isnan(s) else mean_std(m, s)
            for m, s, n in zip(g[f"{col}_mean"], g[f"{col}_std"], g["n"])
        ]
    out["status"] = g["status"]
    return out


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table (numbers right-aligned)."""
    cols = [str(c) for c in frame.columns]
    cells = [[str(v).replace("|", "\\|") for v in row] for row in frame.itertuples(index=False)]
    numeric = [all(_looks_numeric(r[i]) for r in cells) and cells for i in range(len(cols))]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines) + "\n"


def _looks_numeric(text: str) -> bool:
    head = text.split(" ± ")[0]
    try:
        float(head)
        return True
    except ValueError:
        return head == "-"


def write_table_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write the raw (unformatted) table to a CSV file checked by :func:`~.outputs.check_output`."""
    return write_output(path, frame.to_csv(index=False, float_format="%.10g").encode("utf-8"))
