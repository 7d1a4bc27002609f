"""Checking a sweep before anything runs: every axis value composes with the base run."""

from __future__ import annotations

from typing import Any

from ..core.errors import NnctlError
from ..training import RunConfig, prepare
from .distributions import Distribution
from .space import SearchSpace, Trial


def check_trials(space: SearchSpace, trials: list[Trial]) -> None:
    """Compose (without training) the first trial and that trial with each axis value in turn, so a
    bad value (an unknown optimizer, a model that does not fit the data) fails before anything runs."""
    if not trials:
        return
    reference = RunConfig.from_dict(trials[0].config)
    first = ",".join(f"{k}={v}" for k, v in trials[0].params.items())
    variants: list[tuple[str, dict[str, Any]]] = [(first, {})]
    for group in space.groups():
        values = space.params[group[0]]
        if isinstance(values, Distribution):
            bounds = (int(values.low), int(values.high)) if values.kind == "int" else (values.low, values.high)
            variants += [(f"{group[0]}={b}", {group[0]: b}) for b in bounds]
        else:
            for combo in zip(*(space.params[name] for name in group)):
                change = dict(zip(group, combo))
                variants.append((",".join(f"{k}={v}" for k, v in change.items()), change))
    datasets: dict[tuple, Any] = {}
    for label, change in variants:
        cfg = reference.replace(**change)
        key = (cfg.data, cfg.seed, cfg.target, cfg.task)
        try:
            datasets[key] = prepare(cfg, datasets.get(key)).dataset
        except NnctlError as exc:
            raise type(exc)(f"sweep trial {label}: {exc}" if label else str(exc)) from None


def any_point(space: SearchSpace) -> dict[str, Any]:
    """A point of a tpe space to check the base configuration with (each axis's first value)."""
    point: dict[str, Any] = {}
    for group in space.groups():
        values = space.params[group[0]]
        if isinstance(values, Distribution):
            point[group[0]] = values.support()[0] if values.kind == "choice" else values.low
            if values.kind == "int":
                point[group[0]] = int(values.low)
        else:
            point.update({name: space.params[name][0] for name in group})
    return point
