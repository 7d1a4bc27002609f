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


class NnctlCommand(TyperCommand):
    """A command whose ``--help`` lists its options in sections, one per help panel."""

    def format_options(self, ctx, formatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            record = (record[0], fill_choices(record[1]))
            panel = getattr(param, "rich_help_panel", None) or "Options"
            sections.setdefault(panel, []).append(record)
        for panel, rows in sections.items():
            with formatter.section(panel):
                formatter.write_dl(rows)
