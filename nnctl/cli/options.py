"""The run flags shared by ``train``, ``sweep`` and ``lr-find``, declared once.

:func:`run_options` adds every flag below to a command's signature (Typer reads ``__signature__``)
and hands the command a dict of the flags the user actually gave. Flags default to None so that
"not given" can be told apart from "given the default": a ``--config`` file fills what flags leave
out, and :class:`~nnctl.training.RunConfig` fills the rest.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer

from ..training.config import RunConfig, read_options_file


def _choices(registry_path: str, attr: str) -> str:
    module = __import__(registry_path, fromlist=[attr])
    return ", ".join(sorted(getattr(module, attr).names()))


@dataclass
class Flag:
    name: str
    type: Any
    flags: tuple[str, ...]
    help: str
    panel: str


def _flags() -> list[Flag]:
    acts = _choices("nnctl.core.layers", "ACTIVATIONS")
    inits = _choices("nnctl.core.initializers", "INITIALIZERS")
    losses = _choices("nnctl.core.losses", "LOSSES")
    opts = _choices("nnctl.core.optimizers", "OPTIMIZERS")
    scheds = _choices("nnctl.core.schedules", "SCHEDULES")
    datasets = _choices("nnctl.data", "DATASETS")
    augs = _choices("nnctl.data.augment", "AUGMENTATIONS")
    D, M, O, R = "Data", "Model", "Optimization", "Run"
    return [
        Flag("data", Optional[str], ("--data",), f"Dataset: {datasets}, or a .csv/.npz file. [default: digits]", D),
        Flag("target", Optional[str], ("--target",), "Target column of a CSV file.", D),
        Flag("task", Optional[str], ("--task",), "auto, classification or regression. [default: auto]", D),
        Flag("val_split", Optional[str], ("NUMBER", "--val-split",), "Fraction held out for validation. [default: 0.1]", D),
        Flag("test_split", Optional[str], ("NUMBER", "--test-split",), "Fraction held out for testing. [default: 0.2]", D),
        Flag("standardize", Optional[bool], ("--standardize/--no-standardize",), "Standardize inputs (fitted on the training split). [default: on]", D),
        Flag("augment", Optional[str], ("--augment",), f"Augmentations, e.g. shift:2,rotate:15. Choices: {augs}.", D),
        Flag("model", Optional[str], ("--model", "-m"), "Model string, e.g. mlp:128,64 or conv:16x3,relu,maxpool:2,flatten,dense:10 or res(dense:64,relu,dense:64)x4 (see README). [default: mlp:128,64]", M),
        Flag("activation", Optional[str], ("--activation", "-a"), f"Hidden activation: {acts}. [default: relu]", M),
        Flag("init", Optional[str], ("--init",), f"Weight initializer ('auto': He for ReLU-like, LeCun for SELU, else Glorot): {inits}. [default: auto]", M),
        Flag("bias_init", Optional[str], ("--bias-init",), "Bias initializer, e.g. zeros or constant:0.01. [default: zeros]", M),
        Flag("dropout", Optional[str], ("NUMBER", "--dropout",), "Dropout rate after hidden layers. [default: 0]", M),
        Flag("input_dropout", Optional[str], ("NUMBER", "--input-dropout",), "Dropout rate on the inputs. [default: 0]", M),
        Flag("batch_norm", Optional[bool], ("--batch-norm/--no-batch-norm",), "Batch norm after hidden dense layers. [default: off]", M),
        Flag("dtype", Optional[str], ("--dtype",), "float32 or float64. [default: float32]", M),
        Flag("loss", Optional[str], ("--loss",), f"Loss ('auto' from the task): {losses}. [default: auto]", O),
        Flag("optimizer", Optional[str], ("--optimizer", "-o"), f"Optimizer spec, e.g. adam:beta2=0.99: {opts}. [default: adam]", O),
        Flag("lr", Optional[str], ("NUMBER", "--lr",), "Learning rate (overrides the optimizer's), or 'auto': run the range test first and use its recommended rate (train only). [default: the optimizer's]", O),
        Flag("schedule", Optional[str], ("--schedule",), f"Learning-rate schedule: {scheds}. [default: constant]", O),
        Flag("clip_norm", Optional[str], ("NUMBER", "--clip-norm",), "Clip gradients to this global L2 norm.", O),
        Flag("clip_value", Optional[str], ("NUMBER", "--clip-value",), "Clip each gradient entry to [-v, v].", O),
        Flag("l1", Optional[str], ("NUMBER", "--l1",), "L1 strength λ (penalty λ·Σ|w|). [default: 0]", O),
        Flag("l2", Optional[str], ("NUMBER", "--l2",), "L2 strength λ (penalty λ/2·Σw²). [default: 0]", O),
        Flag("epochs", Optional[str], ("INTEGER", "--epochs", "-e"), "Epochs. [default: 30]", O),
        Flag("batch_size", Optional[str], ("--batch-size", "-b"), "Minibatch size; 1 = stochastic, 'full' = batch gradient descent. [default: 32]", O),
        Flag("early_stopping", Optional[str], ("INTEGER", "--early-stopping",), "Stop after this many epochs without improvement (patience).", O),
        Flag("monitor", Optional[str], ("--monitor",), "Metric for early stopping and best epoch: val_loss, val_acc, train_loss, train_acc, val_mae. [default: val_loss]", O),
        Flag("min_delta", Optional[str], ("NUMBER", "--min-delta",), "Smallest change that counts as improvement. [default: 0]", O),
        Flag("restore_best", Optional[bool], ("--restore-best/--no-restore-best",), "Return the best epoch's weights, whatever stopped the run. [default: on]", O),
        Flag("diagnostics", Optional[bool], ("--diagnostics/--no-diagnostics",), "Record per-layer training-health statistics (diagnostics.csv) and warn when a rule fires. [default: off]", R),
        Flag("seed", Optional[str], ("INTEGER", "--seed", "-s"), "Random seed (data split, init, shuffling). [default: 0]", R),
        Flag("threads", Optional[str], ("INTEGER", "--threads",), "BLAS threads of the matrix products (recorded: the numbers depend on it). [default: every core for train, 1 per sweep trial]", R),
        Flag("name", Optional[str], ("--name",), "Run name (added to the run id).", R),
        Flag("results_dir", Optional[str], ("--results-dir",), "Where run directories go. [default: results]", R),
    ]


def _names(f: Flag) -> tuple[str, ...]:
    return tuple(n for n in f.flags if n.startswith("-"))


def _metavar(f: Flag) -> str | None:
    named = [n for n in f.flags if not n.startswith("-")]
    return named[0] if named else ("SPEC" if f.type is Optional[str] else None)


def run_options(func):
    """Decorator: append the shared run flags and ``--config`` to a Typer command."""
    flags = _flags()
    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.name != "run_flags"]
    for f in flags:
        params.append(
            inspect.Parameter(
                f.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(None, *_names(f), metavar=_metavar(f), help=f.help, rich_help_panel=f.panel, show_default=False),
                annotation=f.type,
            )
        )
    params.append(
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(None, "--config", help="TOML or JSON file of options (a run's config.json replays it); flags override it.", rich_help_panel="Run"),
            annotation=Optional[Path],
        )
    )
    names = [f.name for f in flags]

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        given = {k: kwargs.pop(k) for k in names}
        config_file = kwargs.pop("config")
        options = read_config_file(config_file) if config_file is not None else {}
        options.update({k: v for k, v in given.items() if v is not None})
        return func(*args, run_flags=options, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper


def read_config_file(path: Path) -> dict[str, Any]:
    """Options from a TOML or JSON file (parsed as data, never executed); see
    :func:`nnctl.training.config.read_options_file`."""
    return read_options_file(path)


def config_from_flags(options: dict[str, Any]) -> RunConfig:
    return RunConfig.from_dict(options)
