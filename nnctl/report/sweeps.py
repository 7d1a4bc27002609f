"""The page model of a sweep: which axis matters, by how much, and is it more than the seed noise?

For every score (the sweep's leaderboard metric first, e.g. ``best_val_loss``, then the other
best-epoch and test metrics its trials have) this computes, in Python so that tests can check it:

- **main effects** (:func:`nnctl.results.effects.main_effects`, which ``compare-runs --effects``
  prints too): for each axis and each of its values, the mean ± std of the score over seeds, and
  Welch's p against the best value. An axis with more than 12 values (random search over a range)
  is shown as a scatter of score against value instead;
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

from ..results.effects import axis_info, finite_number, level_name, main_effects
from ..results.runs import RunRecord
from ..results.sweeps import RESULTS, score_column
from ..training.direction import higher_is_better

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
                    and level_name(t["values"].get(a["name"])) == la
                    and level_name(t["values"].get(b["name"])) == lb
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
                "label": ", ".join(f"{k}={level_name(v)}" for k, v in values.items()),
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
        scores = {s: finite_number(metrics.get(s)) for s in SCORES if finite_number(metrics.get(s)) is not None}
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
    done = [t for t in trials if t["status"] in RESULTS]  # pruned trials stop at a rung: not compared
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
