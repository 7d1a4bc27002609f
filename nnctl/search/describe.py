"""How a search space reads to a person: one line for the sweep's header and ``--dry-run``."""

from __future__ import annotations

import math

from .distributions import Distribution
from .space import SearchSpace, group_values


def describe(space: SearchSpace) -> str:
    """One line, e.g. ``grid: 3 lr × 3 init × 2 seeds = 18 trials``."""
    parts = []
    for group in space.groups():
        values = space.params[group[0]]
        label = "+".join(group)
        parts.append(
            f"{label} {values}" if isinstance(values, Distribution) else f"{len(group_values(space, group))} {label}"
        )
    text = " × ".join(parts) or "1 point"
    if space.kind == "grid":
        points = math.prod(len(group_values(space, g)) for g in space.groups())
    elif space.kind == "tpe":
        points = space.trials
        text = (
            f"{points} points proposed by TPE (batches of {space.batch}, {space.startup} at random first) from {text}"
        )
    else:
        size = space.size()
        points = space.trials if size is None else min(space.trials, size)
        text = f"{points} of {size if size is not None else 'unlimited'} points from {text}"
    seeds = f" × {space.repeats} seeds" if space.repeats > 1 else ""
    pruning = f"; pruned by {space.prune}" + (f", {space.audit:g} of the pruned audited" if space.audit else "")
    return f"{space.kind}: {text}{seeds} = {points * space.repeats} trials" + (pruning if space.prune else "")


def sampling_note(space: SearchSpace) -> str | None:
    """Why a random sweep runs fewer trials than asked (a discrete space smaller than ``trials``)."""
    size = space.size()
    if space.kind == "random" and size is not None and space.trials > size:
        return (
            f"trials={space.trials} exceeds the {size} distinct points of this discrete space; "
            f"running each of the {size} once"
        )
    return None
