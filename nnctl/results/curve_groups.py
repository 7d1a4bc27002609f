"""How a picture of many runs is organized: panels and colours by what varies, seeds as bands, and
a title that names what the runs share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .compare import _flat_config, given_options, run_labels
from .formatting import number
from .runs import RunRecord


@dataclass
class CurveGroups:
    """How a picture of many runs is organized: panels (one per value of ``facet``), in each a
    line per value of the ``colour`` keys with the runs (seeds) that share it, and the common
    configuration for the title."""

    panels: list[tuple[str, list[tuple[str, list[RunRecord]]]]]
    facet: str | None
    colour: list[str]
    common: str


#: options that make a title worth reading, in this order, when every run shares them
_TITLE_KEYS = ("data", "model", "activation", "init", "optimizer", "lr", "batch_size", "epochs", "schedule")
MAX_PANELS = 6


def curve_groups(records: list[RunRecord], frame: pd.DataFrame, keys: list[str]) -> CurveGroups:
    """Group runs for a picture: the differing keys except the seed; with two or more, the one with
    the fewest values (at most MAX_PANELS) makes the panels and the others the colours; runs that
    differ only by seed share a line (their mean) and a band (their range)."""
    by_label = dict(zip(run_labels(records), records))
    varying = [k for k in keys if k != "seed"]
    levels = {k: list(dict.fromkeys(number(v) for v in frame[k])) for k in varying}
    facet = None
    if len(varying) >= 2:
        fewest = min(varying, key=lambda k: len(levels[k]))
        if len(levels[fewest]) <= MAX_PANELS:
            facet = fewest
    colour = [k for k in varying if k != facet]
    panels: dict[tuple, dict[tuple, tuple[str, list[RunRecord]]]] = {}
    for _, row in frame.iterrows():
        panel = (_order(row[facet]), f"{facet}={number(row[facet])}") if facet else ((), "")
        if len(colour) == 1:  # the legend's title names the key
            name = number(row[colour[0]])
        elif colour:
            name = ", ".join(f"{k}={number(row[k])}" for k in colour)
        else:
            name = "all runs" if "seed" in keys else row["run"]
        order = tuple(_order(row[k]) for k in colour) if colour else (name,)
        panels.setdefault(panel, {}).setdefault(order, (name, []))[1].append(by_label[row["run"]])
    ordered = [
        (label, [lines[k] for k in sorted(lines)])
        for (_, label), lines in sorted(panels.items(), key=lambda item: item[0][0])
    ]
    return CurveGroups(ordered, facet, colour, _common_title(records, keys))


def _order(value: Any) -> tuple:
    """A sort key putting numbers in numeric order before text."""
    try:
        return (0, float(value), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(value))


def _title_value(key: str, cfg: dict[str, Any], given: dict[str, Any]) -> Any:
    """As written when the user set it; a default component by its name alone (``adam``, not
    every resolved hyperparameter)."""
    if key in given:
        return given[key]
    value = cfg.get(key)
    return value.split(":", 1)[0] if isinstance(value, str) and key in ("optimizer", "schedule", "loss") else value


def describe_run(record: RunRecord) -> str:
    """A run in words for a picture's title: its configuration as written, then its name."""
    name = record.config.get("config", {}).get("name") or ""
    return _common_title([record], []) + (f"  ({name})" if name else "")


def _common_title(records: list[RunRecord], keys: list[str]) -> str:
    """The options every run shares, as the user wrote them where known: what the picture is of."""
    configs = [_flat_config(r) for r in records]
    given = [given_options(r) or {} for r in records]
    parts = []
    for key in _TITLE_KEYS:
        if key in keys:
            continue
        shown = {json.dumps(_title_value(key, c, g), default=str) for c, g in zip(configs, given)}
        if len(shown) == 1:
            value = _title_value(key, configs[0], given[0])
            if value not in (None, "", "constant") and not (key == "init" and value == "auto"):
                parts.append(
                    f"{value} epochs"
                    if key == "epochs"
                    else f"lr {number(value)}"
                    if key == "lr"
                    else f"batch {value}"
                    if key == "batch_size"
                    else str(value)
                )
    return " · ".join(parts)
