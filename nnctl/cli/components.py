"""``nnctl list``: every registered component of each kind, with its parameters and defaults."""

from __future__ import annotations

import typer
from rich.table import Table

from ..core.registry import format_value
from . import render


def registries() -> dict[str, object]:
    from ..core.initializers import INITIALIZERS
    from ..core.layers import ACTIVATIONS, Activation
    from ..core.layers.base import LAYERS
    from ..core.losses import LOSSES
    from ..core.optimizers import OPTIMIZERS
    from ..core.regularizers import REGULARIZERS
    from ..core.schedules import SCHEDULES
    from ..data import DATASETS
    from ..data.augment import AUGMENTATIONS
    from ..search.pruners import PRUNERS

    return {
        "datasets": DATASETS,
        "layers": LAYERS.view("layer", lambda cls: not issubclass(cls, Activation)),
        "activations": ACTIVATIONS,
        "initializers": INITIALIZERS,
        "losses": LOSSES,
        "optimizers": OPTIMIZERS,
        "schedules": SCHEDULES,
        "regularizers": REGULARIZERS,
        "augmentations": AUGMENTATIONS,
        "pruners": PRUNERS,
    }


def list_command(
    kind: str = typer.Argument(
        None,
        help="Only this kind: "
        + "datasets, layers, activations, initializers, losses, optimizers, schedules, regularizers, augmentations, "
        "pruners.",
    ),
) -> None:
    """List registered components (use their names in spec strings: name:key=value,...)."""
    regs = registries()
    if kind is not None:
        key = kind.lower().rstrip("s") + "s"
        if key not in regs:
            from ..core.errors import ConfigError, suggestion

            raise ConfigError(f"unknown kind '{kind}'; valid: {', '.join(regs)}" + suggestion(key, list(regs)))
        regs = {key: regs[key]}
    out = render.console()
    for title, reg in regs.items():
        table = Table(title=title, title_justify="left", show_edge=False)
        table.add_column("name", style="bold")
        table.add_column("parameters (defaults)")
        table.add_column("description")
        for row in reg.describe():
            params = ", ".join(f"{k}={format_value(v)}" for k, v in row["params"].items() if k != "layers")
            name = row["name"] + (f" ({', '.join(row['aliases'])})" if row["aliases"] else "")
            table.add_row(name, params, row["summary"])
        out.print(table)
        out.print()
