"""Which axis of a sweep mattered, by how much, and is it more than the seed noise?

- **Main effects** (:func:`main_effects`): for each axis and each of its values (a *level*), the
  mean ± sample standard deviation of a score (e.g. ``best_val_acc``). With repeats, each seed's
  value is the mean over the trials of that seed at that level (the other axes averaged out), so
  the ± is seed-to-seed noise; without repeats it is the spread over the other axes' values. Each
  level is compared with the best level by Welch's t-test (:func:`nnctl.results.stats.welch_t_test`):
  a small p says the difference is bigger than that noise.
- **Importance** (:func:`importance`): the share of the score's variance over the trials that an
  axis's level means explain, η² = Σ_l n_l (x̄_l − x̄)² / Σ_i (x_i − x̄)² — the first-order term
  of a functional ANOVA (fANOVA) on a grid, computed directly; 1 when the axis alone decides the
  score, near 0 when it does not matter. (fANOVA proper fits a random forest to interpolate between
  trials, which a study tool's grids and small random searches do not need; η² is exact on what was
  run and can be checked with a pandas group-by.)
- An axis with more than :data:`MAX_LEVELS` distinct values (random search over a range) has no
  levels to compare; :func:`binned` groups its values into quantile bins first.

The report's sweep pages and ``nnctl compare-runs --effects`` both use these functions.
"""

from __future__ import annotations

import math
import statistics
from typing import Any

import numpy as np

from ..training.direction import higher_is_better
from .formatting import number
from .stats import welch_t_test

MAX_LEVELS = 12


def finite_number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def level_name(value: Any) -> str:
    """An axis value as the text that names it (0.1 and 0.10 are one level)."""
    return number(value) if not isinstance(value, str) else value


def axis_info(name: str, values: list[Any]) -> dict[str, Any]:
    """How to draw an axis: numeric (log when positive over two decades or more) or categories."""
    levels = list(dict.fromkeys(level_name(v) for v in values if v is not None))
    numbers = [finite_number(v) for v in values if v is not None]
    numeric = bool(numbers) and all(n is not None and not isinstance(v, bool) for n, v in zip(numbers, values))
    kind = "category"
    if numeric:
        positive = [n for n in numbers if n is not None and n > 0]
        kind = "log" if len(positive) == len(numbers) and max(positive) / min(positive) >= 100 else "value"
        levels.sort(key=lambda s: float(s))
    return {"name": name, "type": kind, "levels": levels, "continuous": len(levels) > MAX_LEVELS}


def main_effects(trials: list[dict[str, Any]], axes: list[dict[str, Any]], score: str, seeded: bool) -> dict[str, Any]:
    """Per axis: each value's mean ± std over seeds and Welch's p against the best value."""
    better_high = higher_is_better(score)
    out: dict[str, Any] = {}
    for axis in axes:
        name = axis["name"]
        scored = [t for t in trials if t["scores"].get(score) is not None and t["values"].get(name) is not None]
        if axis["continuous"]:
            out[name] = {
                "kind": "scatter",
                "points": [
                    [
                        (finite_number if axis["type"] != "category" else level_name)(t["values"][name]),
                        t["scores"][score],
                    ]
                    for t in scored
                ],
            }
            continue
        levels = []
        for level in axis["levels"]:
            mine = [t for t in scored if level_name(t["values"][name]) == level]
            if seeded:
                per_seed: dict[str, list[float]] = {}
                for t in mine:
                    per_seed.setdefault(str(t["values"].get("seed")), []).append(t["scores"][score])
                values = [statistics.fmean(v) for v in per_seed.values()]
            else:
                values = [t["scores"][score] for t in mine]
            levels.append(
                {
                    "level": level,
                    "values": values,
                    "n": len(values),
                    "mean": statistics.fmean(values) if values else None,
                    "std": statistics.stdev(values) if len(values) > 1 else None,
                }
            )
        with_mean = [lv for lv in levels if lv["mean"] is not None]
        best = (max if better_high else min)(with_mean, key=lambda lv: lv["mean"]) if with_mean else None
        for lv in levels:
            lv["best"] = lv is best
            lv["p"], lv["why"] = None, ""
            if best is None or lv is best or lv["mean"] is None:
                continue
            if lv["n"] < 2 or best["n"] < 2:
                lv["why"] = "needs 2 or more values on each side"
                continue
            result = welch_t_test(np.asarray(lv["values"]), np.asarray(best["values"]))
            lv["p"] = result["p"] if math.isfinite(result["p"]) else None
        out[name] = {
            "kind": "levels",
            "levels": levels,
            "best": best["level"] if best else None,
            "spread": "over seeds" if seeded else "over the other axes (no repeats)",
        }
    return out


def importance(trials: list[dict[str, Any]], axis: str, score: str) -> float | None:
    """η²: the share of the variance of ``score`` over ``trials`` explained by the level means of
    ``axis`` (None with fewer than 2 scored trials or no variance at all)."""
    pairs = [(level_name(t["values"][axis]), t["scores"][score]) for t in trials if _scored(t, axis, score)]
    if len(pairs) < 2:
        return None
    values = np.asarray([v for _, v in pairs], dtype=np.float64)
    total = float(((values - values.mean()) ** 2).sum())
    if total == 0.0:
        return None
    groups: dict[str, list[float]] = {}
    for level, v in pairs:
        groups.setdefault(level, []).append(v)
    between = sum(len(g) * (statistics.fmean(g) - values.mean()) ** 2 for g in groups.values())
    return float(between / total)


def _scored(trial: dict[str, Any], axis: str, score: str) -> bool:
    return trial["scores"].get(score) is not None and trial["values"].get(axis) is not None


def binned(trials: list[dict[str, Any]], axis: dict[str, Any], bins: int = 4) -> tuple[list[dict[str, Any]], dict]:
    """``trials`` with a continuous numeric axis replaced by its quantile bin (``[0.001, 0.01)``),
    and the axis description of the bins; other axes are returned as they are."""
    if not axis["continuous"] or axis["type"] == "category":
        return trials, axis
    name = axis["name"]
    numbers = [finite_number(t["values"].get(name)) for t in trials]
    values = np.asarray([x for x in numbers if x is not None])
    edges = np.unique(np.quantile(np.log(values) if axis["type"] == "log" else values, np.linspace(0, 1, bins + 1)))
    edges = np.exp(edges) if axis["type"] == "log" else edges
    labels = [
        f"[{number(lo)}, {number(hi)}" + ("]" if i == len(edges) - 2 else ")")
        for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:]))
    ]

    def label(v: Any) -> str | None:
        x = finite_number(v)
        if x is None:
            return None
        i = int(np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(labels) - 1))
        return labels[i]

    out = [{**t, "values": {**t["values"], name: label(t["values"].get(name))}} for t in trials]
    return out, {"name": name, "type": "category", "levels": labels, "continuous": False, "binned": True}


def table_effects(frame, keys: list[str], score: str) -> list[dict[str, Any]]:
    """The main effects and importance of every axis of a runs table (``compare.runs_table``: one
    row per run, the differing ``keys`` as columns, ``score`` such as ``best_val_acc``), most
    important axis first. A ``seed`` key makes the ± seed-to-seed noise (see :func:`main_effects`)."""
    seeded = "seed" in keys
    trials = [
        {"values": {k: row.get(k) for k in keys}, "scores": {score: finite_number(row.get(score))}}
        for row in frame.to_dict("records")
        if finite_number(row.get(score)) is not None
    ]
    out = []
    for name in (k for k in keys if k != "seed"):
        info = axis_info(name, [t["values"][name] for t in trials])
        rows, info = binned(trials, info)
        effect = main_effects(rows, [info], score, seeded)[name]
        out.append({"axis": name, "binned": info.get("binned", False), "eta2": importance(rows, name, score), **effect})
    return sorted(out, key=lambda e: -1.0 if e["eta2"] is None else -e["eta2"])
