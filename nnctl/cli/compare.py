"""``nnctl compare-runs``: a table of runs (what differs, what they reached), groups over seeds, overlays."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from ..core.errors import ConfigError
from ..results.outputs import check_output
from . import render


def compare_command(
    runs: list[str] = typer.Argument(
        ..., help="Run ids, run directories, sweep ids or directories (all their trials), or globs."
    ),
    results_dir: str = typer.Option("results", "--results-dir", help="Where ids are looked up."),
    metric: Optional[str] = typer.Option(
        None, "--metric", help="Curve metric for best/final/plot. [default: val_acc, or val_loss for regression]"
    ),
    target: Optional[str] = typer.Option(
        None, "--target", help="Add epochs needed to reach METRIC=VALUE, e.g. val_acc=0.95."
    ),
    sort: Optional[str] = typer.Option(
        None, "--sort", help="Sort by this column, best first. [default: best_<metric>]"
    ),
    top: Optional[int] = typer.Option(None, "--top", help="Show only the first K rows after sorting."),
    group_by: Optional[str] = typer.Option(
        None,
        "--group-by",
        help="Aggregate into mean ± std per value of KEY[,KEY]; 'seed' groups runs that differ only by seed.",
    ),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Also write the table (raw numbers) to this CSV file."),
    markdown: bool = typer.Option(False, "--markdown", help="Print the table as Markdown instead of a rich table."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Draw the runs' curves of --metric in this picture (.png or .svg)."
    ),
    log: bool = typer.Option(False, "--log", help="Log-scale y axis in --plot."),
    ylim: Optional[str] = typer.Option(
        None, "--ylim", metavar="LOW:HIGH", help="y-axis limits in --plot, e.g. 0:1 or :0.5."
    ),
    force: bool = typer.Option(False, "--force", help="Replace --csv/--plot files even if nnctl did not write them."),
    effects: bool = typer.Option(
        False,
        "--effects",
        help="Also print what mattered: per option that differs, the best metric's mean ± std per value "
        "(over seeds when runs differ by seed) with Welch's p against the best value, axes ranked by "
        "the share of the variance they explain (η²).",
    ),
) -> None:
    """Compare runs: the configuration keys that differ, then best/final/test metrics, epochs, status, seconds."""
    from ..results import compare, curve_groups, grouping, plots, tables

    if plot is not None:
        plots.require_matplotlib()
        check_output(plot, "picture", force=force)
    if csv is not None:
        check_output(csv, "table", force=force)
    records, skipped = compare.read_runs(compare.resolve_runs(runs, results_dir))
    warn = render.console(stderr=True)
    for path, why in skipped:  # a damaged run is named and left out; the others are compared
        warn.print(f"warning: skipped '{path}': {why}", markup=False)
    metric = compare.check_metric(metric, records) if metric else compare.default_metric(records)
    goal = compare.parse_target(target, records) if target else None
    frame, keys = compare.runs_table(records, metric, goal)
    grouped = None
    if group_by:
        grouped = grouping.group_table(frame, keys, [k.strip() for k in group_by.split(",") if k.strip()], metric)
        grouped = grouping.sort_groups(grouped, sort, top)
        export, shown = grouped.frame, tables.display_frame(frame, grouped)
    else:
        export = compare.sort_table(frame, sort, top, metric)
        shown = tables.display_frame(export)
    if csv is not None:
        tables.write_table_csv(export, csv)
    out = render.console()
    if markdown:
        out.print(tables.to_markdown(shown).rstrip("\n"), markup=False, highlight=False)
    else:
        title = f"{len(records)} runs" + (f", grouped by {group_by}" if group_by else "")
        title += f" ({len(skipped)} unreadable, skipped)" if skipped else ""
        table = _rich_table(shown, title)
        if not out.is_terminal:  # piped or captured: as wide as the table needs, never folded
            needed = Measurement.get(out, out.options.update(max_width=10_000), table).maximum
            out = Console(width=max(out.width, needed), highlight=False, soft_wrap=True)
        out.print(table)
    if grouped is not None and grouped.note:
        warn.print(f"warning: {grouped.note}", markup=False)
    if grouped is not None and grouped.welch is not None:
        out.print(_welch_line(grouped.welch), markup=False)
    if effects:
        _print_effects(out, frame, keys, f"best_{metric}", markdown)
    if plot is not None:
        shown_runs = frame if grouped is not None else export
        groups = curve_groups.curve_groups(records, shown_runs, keys)
        written = plots.plot_compare(groups, plot, metric, log=log, ylim=_limits(ylim))
        out.print(f"plot: {written}", markup=False)


def _print_effects(out, frame, keys: list[str], score: str, markdown: bool) -> None:
    """One small table per option that differs, most important first (see nnctl/results/effects.py)."""
    import pandas as pd

    from ..results.effects import table_effects
    from ..results.formatting import mean_std, number
    from ..results.tables import to_markdown

    axes = table_effects(frame, keys, score)
    if not axes:
        out.print("effects: no option differs between these runs", markup=False)
        return
    ranking = ", ".join(f"{a['axis']} {number(a['eta2']) if a['eta2'] is not None else '-'}" for a in axes)
    out.print(f"\nWhat mattered for {score} (share of its variance each option explains, η²): {ranking}", markup=False)
    for a in axes:
        rows = []
        for lv in a["levels"]:
            spread = mean_std(lv["mean"], lv["std"]) if lv["std"] is not None else number(lv["mean"])
            p = "best" if lv["best"] else (f"{lv['p']:.3g}" if lv["p"] is not None else lv["why"] or "-")
            rows.append(
                {
                    a["axis"] + (" (binned)" if a["binned"] else ""): lv["level"],
                    "n": lv["n"],
                    score: spread,
                    "p vs best": p,
                }
            )
        shown = pd.DataFrame(rows)
        title = f"{a['axis']}: η² = {number(a['eta2']) if a['eta2'] is not None else '-'}; ± {a['spread']}"
        if markdown:
            out.print(f"\n{title}\n\n" + to_markdown(shown).rstrip("\n"), markup=False, highlight=False)
        else:
            out.print(_rich_table(shown, title))


def _limits(text: str | None) -> tuple[float | None, float | None] | None:
    """``LOW:HIGH`` (either may be empty) → the y-axis limits of --plot."""
    if text is None:
        return None
    low, sep, high = text.partition(":")
    try:
        values = tuple(float(v) if v.strip() else None for v in (low, high))
    except ValueError:
        values = ()
    if not sep or len(values) != 2 or values == (None, None):
        raise ConfigError(f"--ylim '{text}' is not allowed; expected LOW:HIGH, e.g. 0:1 or :0.5")
    return values  # type: ignore[return-value]


def _welch_line(w: dict) -> str:
    a, b = w["groups"]
    if math.isnan(w.get("p", math.nan)):
        return f"welch t-test ({w['metric']}) between '{a}' and '{b}': not computed ({w.get('reason', 'no spread')})"
    return (
        f"welch t-test ({w['metric']}) between the two best groups '{a}' (n={w['n'][0]}) and '{b}' (n={w['n'][1]}): "
        f"t={w['t']:.3g}, df={w['df']:.3g}, p={w['p']:.3g}"
    )


def _rich_table(shown, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False)
    for col in shown.columns:
        table.add_column(str(col), justify="left" if col in ("run", "group", "status") else "right", overflow="fold")
    for row in shown.itertuples(index=False):
        table.add_row(*[str(v) for v in row])
    return table
