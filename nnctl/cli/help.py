"""Help that reads at 80 columns: click's plain layout, with the options grouped by panel.

Typer's rich help puts flag, short flag, placeholder and text in four columns, which at 80
columns leaves the text a strip a few words wide; click's two columns (flag and placeholder, then
the text) read like a man page. Options are listed under the panel they are declared in (the
command's own first, then Data, Model, Optimization and Run for the run options).
"""

from __future__ import annotations

import re

from typer.core import TyperCommand

#: a placeholder in help text for the names registered in a registry (``{kind}`` is the registry's
#: key in :func:`~nnctl.cli.components.registries`), filled in when the help is shown
CHOICES = "<choices:{}>"
_CHOICES = re.compile(r"<choices:(\w+)>")


def fill_choices(text: str) -> str:
    """``text`` with every choices placeholder replaced by the registered names, sorted."""
    if "<choices:" not in text:
        return text
    from .components import registries

    found = registries()
    return _CHOICES.sub(lambda m: ", ".join(sorted(found[m.group(1)].names())), text)


#: what an option takes, for the options that do not say so themselves (the run options declare
#: theirs in training/options.py); any other option shows its name in capitals
METAVARS = {
    "results_dir": "DIR",
    "out": "FILE",
    "plot": "FILE",
    "csv": "FILE.csv",
    "config": "FILE",
    "top": "K",
    "group_by": "KEY[,KEY]",
    "target": "METRIC=VALUE",
    "metric": "METRIC",
    "sort": "COLUMN",
    "seed": "N",
    "repeats": "N",
    "retries": "N",
    "samples": "N",
    "workers": "N",
    "port": "N",
    "host": "ADDRESS",
    "scheduler": "ADDRESS",
    "executor": "local|dask",
    "data": "SPEC|FILE",
    "augment": "SPEC",
    "title": "TEXT",
}
_TYPE_PLACEHOLDER = re.compile(r"<[\w ]+>$")


def option_name(param, record: str) -> str:
    """``--top K`` for the help record ``--top <int>``: a placeholder of the type becomes what the
    option takes."""
    if param.metavar or not _TYPE_PLACEHOLDER.search(record):
        return record
    return _TYPE_PLACEHOLDER.sub(METAVARS.get(param.name, param.name.upper()), record)


def argument_metavar(param) -> str:
    """An argument as usage lines write it: ``RUN``, ``[DATA]`` when optional, ``PATHS...``."""
    name = (param.metavar or param.name).upper()
    name += "..." if param.nargs == -1 else ""
    return name if param.required else f"[{name}]"


class NnctlCommand(TyperCommand):
    """A command whose ``--help`` lists its arguments, then its options in sections, one per help panel."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [argument_metavar(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]

    def format_options(self, ctx, formatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            argument = param.param_type_name == "argument"
            name = argument_metavar(param) if argument else option_name(param, record[0])
            record = (name, fill_choices(record[1]).replace("  [required]", ""))
            panel = "Arguments" if argument else getattr(param, "rich_help_panel", None) or "Options"
            sections.setdefault(panel, []).append(record)
        for panel, rows in sorted(sections.items(), key=lambda kv: kv[0] != "Arguments"):
            with formatter.section(panel):
                formatter.write_dl(rows)
