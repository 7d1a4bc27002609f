"""``nnctl summary``: the resolved layer list of a model on a dataset, without training."""

from __future__ import annotations

from typing import Any

from ..training import prepare
from ..training.config import RunConfig
from . import render
from .options import run_options


@run_options
def summary_command(run_flags: dict[str, Any] | None = None) -> None:
    """Print the layers, output shapes and parameter counts that --model builds for --data."""
    run = prepare(RunConfig.from_dict(run_flags or {}))
    render.console().print(render.layer_table(run.model.summary(), run.dataset.input_shape, run.model.n_params))
