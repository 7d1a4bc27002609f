"""The run flags shared by ``train``, ``sweep`` and ``lr-find``, declared once.

:func:`run_options` adds every flag below to a command's signature (Typer reads ``__signature__``)
and hands the command a dict of the flags the user actually gave. Flags default to None so that
"not given" can be told apart from "given the default": a ``--config`` file fills what flags leave
out, and :class:`~nnctl.training.RunConfig` fills the rest.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any, Optional

import typer

from ..training.config import read_options_file
from ..training.options import OPTIONS, Option
from .help import CHOICES


def _help(option: Option) -> str:
    """The option's help, with its real default; the registered choices of a component option are
    filled in when the help is shown (:data:`~nnctl.cli.help.CHOICES`), so that starting a command
    does not import every registry."""
    text = option.help
    if option.registry:
        text += f" Choices: {CHOICES.format(option.registry)}."
    return text + f" [default: {option.shown_default()}]"


def _flag_names(option: Option) -> tuple[str, ...]:
    if option.type is bool:
        return (f"{option.flag}/--no-{option.flag[2:]}", *option.flags)
    return (option.flag, *option.flags)


def run_options(func):
    """Decorator: append the shared run flags and ``--config`` to a Typer command."""
    sig = inspect.signature(func)
    params = [p for p in sig.parameters.values() if p.name != "run_flags"]
    for option in OPTIONS:
        params.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=typer.Option(
                    None,
                    *_flag_names(option),
                    metavar=option.placeholder,
                    help=_help(option),
                    rich_help_panel=option.panel,
                    show_default=False,
                ),
                annotation=Optional[bool] if option.type is bool else Optional[str],
            )
        )
    params.append(
        inspect.Parameter(
            "config",
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                "--config",
                help="TOML or JSON file of options (a run's config.json replays it); flags override it.",
                rich_help_panel="Run",
            ),
            annotation=Optional[Path],
        )
    )

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        given = {o.name: kwargs.pop(o.name) for o in OPTIONS}
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
