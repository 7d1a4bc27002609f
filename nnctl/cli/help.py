"""Help that reads at 80 columns: click's plain layout, with the options grouped by panel.

Typer's rich help puts flag, short flag, placeholder and text in four columns, which at 80
columns leaves the text a strip a few words wide; click's two columns (flag and placeholder, then
the text) read like a man page. Options are listed under the panel they are declared in (the
command's own first, then Data, Model, Optimization and Run for the run options).
"""

from __future__ import annotations

from typer.core import TyperCommand


class NnctlCommand(TyperCommand):
    """A command whose ``--help`` lists its options in sections, one per help panel."""

    def format_options(self, ctx, formatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            panel = getattr(param, "rich_help_panel", None) or "Options"
            sections.setdefault(panel, []).append(record)
        for panel, rows in sections.items():
            with formatter.section(panel):
                formatter.write_dl(rows)
