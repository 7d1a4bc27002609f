"""Runs that differ only by seed are noise around one configuration: groups with mean ± std, and
Welch's t-test of whether the two best groups differ by more than that noise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core.errors import DataError
from ..core.registry import check_int
from ..training.direction import higher_is_better
from .formatting import value_label
from .stats import welch_t_test


@dataclass
class Grouped:
    """Aggregated groups and the Welch test between the two best of them."""

    frame: pd.DataFrame  # one row per group: group keys, n, <col>_mean, <col>_std
    keys: list[str]
    metric: str
    welch: dict[str, Any] | None
    note: str = ""


def group_table(frame: pd.DataFrame, config_keys: list[str], group_by: list[str], metric: str) -> Grouped:
    """Aggregate runs into mean ± std (ddof 1) per group; Welch t-test between the two best groups.

    ``group_by`` names configuration keys; ``seed`` stands for "runs that differ only by seed":
    the groups are then defined by every other differing key.
    """
    column = f"best_{metric}" if f"best_{metric}" in frame.columns else metric
    if column not in frame.columns:
        raise DataError(f"cannot group on '{metric}'; columns: {', '.join(frame.columns)}")
    keys: list[str] = []
    for key in group_by:
        if key == "seed":
            keys += [k for k in config_keys if k != "seed" and k not in keys]
        elif key not in frame.columns:
            raise DataError(
                f"cannot group by '{key}': it does not differ between the runs; differing keys: "
                f"{', '.join(config_keys) or 'none'} (or 'seed' to aggregate over seeds)"
            )
        elif key not in keys:
            keys.append(key)
    leftover = [k for k in config_keys if k not in keys and k != "seed"]
    note = f"runs within a group also differ in: {', '.join(leftover)}" if leftover else ""
    numeric = [
        c
        for c in frame.columns
        if c not in config_keys and c not in ("run", "status") and not str(c).startswith("resolved_")
    ]
    work = frame.copy()
    work["_group"] = [
        ", ".join(f"{k}={value_label(v)}" for k, v in zip(keys, values)) or "all"
        for values in (work[keys].itertuples(index=False) if keys else [()] * len(work))
    ]
    rows = []
    for label, part in work.groupby("_group", sort=False):
        row: dict[str, Any] = {"group": label, "n": len(part)}
        row.update({k: part[k].iloc[0] for k in keys})
        for c in numeric:
            values = pd.to_numeric(part[c], errors="coerce").astype(float)
            row[f"{c}_mean"] = values.mean()
            row[f"{c}_std"] = values.std(ddof=1)
        statuses = part["status"].value_counts()
        row["status"] = ", ".join(f"{s}×{n}" if n > 1 else str(s) for s, n in statuses.items())
        rows.append(row)
    groups = pd.DataFrame(rows)
    groups = groups.sort_values(
        f"{column}_mean", ascending=not higher_is_better(column), na_position="last", kind="stable"
    )
    groups = groups.reset_index(drop=True)
    welch = None
    if len(groups) >= 2:
        a, b = groups["group"][0], groups["group"][1]
        va = work.loc[work["_group"] == a, column].astype(float).dropna().to_numpy()
        vb = work.loc[work["_group"] == b, column].astype(float).dropna().to_numpy()
        welch = {"metric": column, "groups": (a, b), "n": (len(va), len(vb))}
        if len(va) >= 2 and len(vb) >= 2:
            welch.update(welch_t_test(va, vb))
        else:
            welch.update(t=math.nan, df=math.nan, p=math.nan, reason="each group needs at least 2 runs")
    return Grouped(groups, keys, column, welch, note)


def sort_groups(grouped: Grouped, by: str | None = None, top: int | None = None) -> Grouped:
    """Order groups by the mean of a column (best first; default: the grouping metric), keep ``top``."""
    if by is not None:
        frame = grouped.frame
        column = next((c for c in (f"{by}_mean", f"best_{by}_mean") if c in frame.columns), None)
        if column is None:
            names = [c[: -len("_mean")] for c in frame.columns if c.endswith("_mean")]
            raise DataError(f"cannot sort groups by '{by}'; columns: {', '.join(names)}")
        grouped.frame = frame.sort_values(
            column, ascending=not higher_is_better(column[: -len("_mean")]), na_position="last", kind="stable"
        ).reset_index(drop=True)
    if top is not None:
        top = check_int("", "top", top, 1)
        grouped.frame = grouped.frame.head(top)
    return grouped
