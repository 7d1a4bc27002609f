"""The page model of a sweep: which axis matters, by how much, and is it more than the seed noise?

For every score (the sweep's leaderboard metric first, e.g. ``best_val_loss``, then the other
best-epoch and test metrics its trials have) this computes, in Python so that tests can check it:

- **main effects**: for each axis and each of its values, the mean ± sample standard deviation of
  the score over seeds. With repeats, each seed's value is the mean over the trials of that seed
  at that axis value (the other axes averaged out), so the ± is seed-to-seed noise; without
  repeats it is the spread over the other axes' values. Each value is compared with the best value
  by Welch's t-test (:func:`nnctl.results.stats.welch_t_test`): a small p says the difference is
  bigger than that noise. An axis with more than 12 values (random search over a range) is shown
  as a scatter of score against value instead;
- **heatmaps**: for each pair of axes, the mean score of every combination of their values;
- **parallel coordinates**: one line per finished trial through its axis values and score;
- **curves by point**: the seeds of each point as their mean curve and min–max band per epoch.
"""

from __future__ import annotations

import math
import statistics
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from ..results.formatting import number
from ..results.runs import RunRecord
from ..results.stats import welch_t_test
from ..results.sweeps import FINISHED, score_column
from ..training.direction import higher_is_better

MAX_LEVELS = 12
SCORES = (
    "best_val_loss",
    "best_val_acc",
    "best_val_mae",
    "val_loss",
    "val_acc",
    "test_loss",
    "test_acc",
    "test_mae",
    "test_r2",
)
CURVE_METRICS = ("val_loss", "val_acc", "val_mae", "train_loss", "train_acc", "train_mae")


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _level(value: Any) -> str:
    """An axis value as the text that names it (0.1 and 0.10 are one level)."""
    return number(value) if not isinstance(value, str) else value


def axis_info(name: str, values: list[Any]) -> dict[str, Any]:
    """How to draw an axis: numeric (log when positive over two decades or more) or categories."""
    levels = list(dict.fromkeys(_level(v) for v in values if v is not None))
    numbers = [_num(v) for v in values if v is not None]
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
                        _num(t["values"][name]) if axis["type"] != "category" else _level(t["values"][name]),
                        t["scores"][score],
                    ]
                    for t in scored
                ],
            }
            continue
        levels = []
        for level in axis["levels"]:
            mine = [t for t in scored if _level(t["values"][name]) == level]
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


def heatmap_pairs(trials: list[dict[str, Any]], axes: list[dict[str, Any]], score: str) -> dict[str, Any]:
    """For each pair of discrete axes ``"a|b"``: the mean score of each (a, b) combination and n."""
    out: dict[str, Any] = {}
    discrete = [a for a in axes if not a["continuous"]]
    for a, b in combinations(discrete, 2):
        cells = []
        for i, la in enumerate(a["levels"]):
            for j, lb in enumerate(b["levels"]):
                values = [
                    t["scores"][score]
                    for t in trials
                    if t["scores"].get(score) is not None
                    and _level(t["values"].get(a["name"])) == la
                    and _level(t["values"].get(b["name"])) == lb
                ]
                if values:
                    cells.append([j, i, statistics.fmean(values), len(values)])
        out[f"{a['name']}|{b['name']}"] = {"rows": a["name"], "columns": b["name"], "cells": cells}
    return out


def point_curves(trials: list[dict[str, Any]], records: dict[str, RunRecord]) -> list[dict[str, Any]]:
    """Each point (its seeds together): per curve metric the mean, min and max per epoch over the
    epochs every seed reached."""
    points: dict[str, list[dict[str, Any]]] = {}
    for t in trials:
        if t["run"] in records and len(records[t["run"]].curve):
            points.setdefault(t["point_id"], []).append(t)
    out = []
    for point_id, members in points.items():
        curves = [records[t["run"]].curve for t in members]
        series = {}
        for metric in CURVE_METRICS:
            have = [
                dict(zip(c["epoch"].astype(int).tolist(), c[metric].astype(float).tolist()))
                for c in curves
                if metric in c.columns and c[metric].notna().any()
            ]
            if not have:
                continue
            common = sorted(set.intersection(*(set(e for e, v in h.items() if math.isfinite(v)) for h in have)))
            if not common:
                continue
            table = np.array([[h[e] for h in have] for e in common])
            series[metric] = {
                "epoch": common,
                "mean": table.mean(axis=1).tolist(),
                "min": table.min(axis=1).tolist(),
                "max": table.max(axis=1).tolist(),
            }
        values = {k: v for k, v in members[0]["values"].items() if k != "seed"}
        out.append(
            {
                "point_id": point_id,
                "values": values,
                "n": len(members),
                "series": series,
                "label": ", ".join(f"{k}={_level(v)}" for k, v in values.items()),
            }
        )
    return out


def sweep_page(
    key: str,
    doc: dict[str, Any] | None,
    frame: pd.DataFrame,
    problems: list[str],
    trial_keys: dict[str, str],
    records: dict[str, RunRecord],
    pages: dict[str, dict[str, Any]],
    table: dict[str, Any],
) -> dict[str, Any]:
    """Everything a sweep's page shows. ``trial_keys`` maps trial ids to run keys, ``table`` is the
    trials' runs table (its keys: the axes)."""
    doc = doc or {}
    spec = doc.get("spec") or {}
    names = list((spec.get("params") or {}).keys())
    listed = doc.get("trials") or []
    rows = {str(r.get("trial_id")): r for r in frame.to_dict("records")} if len(frame) else {}
    seeded = int(spec.get("repeats") or 1) > 1
    trials = []
    for entry in listed or [{"trial_id": t, "params": {}} for t in rows]:
        tid = str(entry.get("trial_id"))
        run = trial_keys.get(tid)
        page = pages.get(run) if run else None
        row = rows.get(tid, {})
        params = dict(entry.get("params") or {})
        status = page["status"] if page else str(row.get("status") or "pending")
        metrics = (page or {}).get("metrics") or row
        scores = {s: _num(metrics.get(s)) for s in SCORES if _num(metrics.get(s)) is not None}
        trials.append(
            {
                "trial_id": tid,
                "point_id": str(entry.get("point_id") or tid),
                "run": run,
                "status": status,
                "values": params,
                "scores": scores,
            }
        )
    axes_names = names + (["seed"] if seeded and "seed" not in names else [])
    axes = [axis_info(n, [t["values"].get(n) for t in trials]) for n in axes_names]
    effect_axes = [a for a in axes if a["name"] != "seed"]
    done = [t for t in trials if t["status"] in FINISHED]
    monitor = (spec.get("base") or {}).get("monitor") or "val_loss"
    first = score_column(monitor)[0]
    scores = [s for s in dict.fromkeys([first, *SCORES]) if any(s in t["scores"] for t in done)]
    counts: dict[str, int] = {}
    for t in trials:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    return {
        "key": key,
        "id": doc.get("sweep_id") or key.rsplit("/", 1)[-1],
        "name": spec.get("name"),
        "kind": spec.get("kind"),
        "created": doc.get("created"),
        "base": spec.get("base") or {},
        "repeats": int(spec.get("repeats") or 1),
        "problems": problems,
        "counts": counts,
        "axes": axes,
        "scores": [{"name": s, "better": "higher" if higher_is_better(s) else "lower"} for s in scores],
        "trials": trials,
        "effects": {s: main_effects(done, effect_axes, s, seeded) for s in scores},
        "heatmaps": {s: heatmap_pairs(done, effect_axes, s) for s in scores},
        "curves": point_curves(done, records),
        "table": table,
    }
