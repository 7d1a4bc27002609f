"""The page models of an experiment (claim, verdict, the numbers behind it, its curves) and of a
learning-rate range test (each seed's loss against the rate, the suggestions and their spread)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..results.artifacts import read_lr_find, read_outcome
from ..results.runs import RunRecord

#: suggestion colours; the seeds' curves are drawn in SEED_COLOURS, which contain none of them
SUGGESTION_COLOURS = {"valley": "#2ca02c", "steep": "#ff7f0e", "minimum": "#d62728"}
SEED_COLOURS = ("#1f77b4", "#9467bd", "#17becf", "#7f7f7f", "#393b79", "#8c6d31", "#637939", "#843c39")


def group_curves(records: list[RunRecord], metrics: list[str]) -> dict[str, Any]:
    """Per metric the mean, min and max over the records per epoch (epochs every record reached)."""
    out = {}
    for metric in metrics:
        have = [
            r.curve.set_index("epoch")[metric].rename(k)
            for k, r in enumerate(records)
            if len(r.curve) and metric in r.curve.columns and r.curve[metric].notna().any()
        ]
        if not have:
            continue
        table = pd.concat(have, axis=1).sort_index().dropna()
        if table.empty:
            continue
        out[metric] = {
            "epoch": [int(e) for e in table.index],
            "mean": table.mean(axis=1).tolist(),
            "min": table.min(axis=1).tolist(),
            "max": table.max(axis=1).tolist(),
            "n": table.shape[1],
        }
    return out


def experiment_page(
    key: str, folder: Path, found_key, records: dict[str, RunRecord], sweeps: list[str]
) -> dict[str, Any]:
    """Everything an experiment's page shows, from its ``outcome.json``; ``found_key`` turns a path
    into the key of a run."""
    doc, problems = read_outcome(folder)
    page: dict[str, Any] = {"key": key, "id": folder.name, "problems": problems, "sweeps": sweeps, "groups": []}
    if doc is None:
        page.update(claim=folder.name, verdict=None)
        return page
    metrics = [m for m in doc.get("metrics") or [] if isinstance(m, str)] or ["val_loss"]
    page.update(
        {
            k: doc.get(k)
            for k in (
                "experiment",
                "claim",
                "hypothesis",
                "source",
                "expectation",
                "fast",
                "seeds",
                "verdict",
                "alpha",
                "comparisons",
                "terms",
            )
        }
    )
    page["metrics"] = metrics
    for group in doc.get("groups") or []:
        keys, missing = [], 0
        for trial in group.get("trials") or []:
            run = found_key(folder / str(trial.get("path") or "")) if trial.get("path") else None
            if run in records:
                keys.append(run)
            else:
                missing += 1
        if missing:
            problems.append(f"group '{group.get('label')}': {missing} trial(s) not found")
        page["groups"].append(
            {"label": group.get("label"), "trials": keys, "curves": group_curves([records[k] for k in keys], metrics)}
        )
    return page


def _loss_at(lrs: np.ndarray, losses: np.ndarray, lr: float) -> float | None:
    """The smoothed loss at ``lr``, interpolated on log(lr)."""
    ok = np.isfinite(losses) & (lrs > 0)
    if not ok.any() or not lr or lr <= 0:
        return None
    return float(np.interp(math.log(lr), np.log(lrs[ok]), losses[ok]))


def lrfind_page(key: str, path: Path) -> dict[str, Any]:
    """Everything a range test's page shows: per seed its raw and smoothed loss against the rate
    and its suggestions, the spread of each suggestion over seeds, and the recommended rate."""
    doc, frame, problems = read_lr_find(path)
    doc = doc or {}
    tests = doc.get("tests") or []
    seeds = [t.get("seed", k) for k, t in enumerate(tests)]
    curves = []
    if len(frame) and {"lr", "smoothed_loss"} <= set(frame.columns):
        parts = frame.groupby("repeat", sort=True) if "repeat" in frame.columns else [(0, frame)]
        for k, (_, part) in enumerate(parts):
            part = part.sort_values("step") if "step" in part.columns else part
            lrs, smooth = part["lr"].to_numpy(float), part["smoothed_loss"].to_numpy(float)
            seed = seeds[k] if k < len(seeds) else k
            test = tests[k] if k < len(tests) else {}
            points = {
                name: [lr, _loss_at(lrs, smooth, lr)]
                for name, lr in (test.get("suggestions") or {}).items()
                if isinstance(lr, (int, float))
            }
            curves.append(
                {
                    "seed": seed,
                    "colour": SEED_COLOURS[k % len(SEED_COLOURS)],
                    "lr": lrs.tolist(),
                    "smoothed": smooth.tolist(),
                    "loss": part["loss"].to_numpy(float).tolist() if "loss" in part.columns else [],
                    "points": points,
                    "steps": test.get("steps"),
                    "stop_reason": test.get("stop_reason"),
                }
            )
    ylim = None
    finite = [c for c in curves if np.isfinite(c["smoothed"]).any()]
    if finite:  # as plot_lr_find: everything up to each curve's minimum, plus room to see the blow-up begin
        low = min(float(np.nanmin(c["smoothed"])) for c in finite)
        high = max(float(np.nanmax(c["smoothed"][: int(np.nanargmin(c["smoothed"])) + 1])) for c in finite)
        pad = abs(high - low) + 1e-3
        ylim = [low - 0.1 * pad, high + 0.3 * pad]
    cfg = doc.get("config") or {}
    return {
        "key": key,
        "id": path.name,
        "problems": problems,
        "config": cfg,
        "title": " · ".join(str(cfg[k]) for k in ("data", "model", "optimizer") if cfg.get(k)),
        "settings": doc.get("lr_find") or {},
        "spread": doc.get("spread") or {},
        "recommended": doc.get("recommended"),
        "why": doc.get("why"),
        "lr": doc.get("lr"),
        "curves": curves,
        "ylim": ylim,
        "colours": SUGGESTION_COLOURS,
    }
