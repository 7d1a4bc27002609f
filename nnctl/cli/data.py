"""``nnctl data``: download MNIST, Fashion-MNIST and CIFAR-10 once, and see what the cache holds."""

from __future__ import annotations

from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..data.builtin import bundled_files
from ..data.catalog import CATALOG, cache_status, data_home, megabytes
from . import render
from .help import NnctlCommand

data_app = typer.Typer(help="Download datasets once into nnctl's cache; list what it holds.", no_args_is_help=True)


class _FetchDisplay:
    """Fetch events as a rich progress bar per file on a terminal, one plain line per file otherwise."""

    def __init__(self, quiet: bool):
        self.out = render.console()
        self.quiet = quiet
        self.progress = None
        self.tasks: dict[str, object] = {}
        if self.out.is_terminal and not quiet:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.out,
            )

    def __call__(self, event) -> None:
        if self.quiet:
            return
        if event.kind == "retry":
            line = f"[yellow]retry[/yellow] {escape(event.file)}: {escape(event.message)}"
            (self.progress.console if self.progress else self.out).print(line)
        elif self.progress is None:
            if event.kind in ("cached", "done"):
                what = "already cached" if event.kind == "cached" else "downloaded"
                self.out.print(f"  {escape(event.file)}  {megabytes(event.total)}  {what}, SHA-256 verified")
        else:
            task = self.tasks.get(event.file)
            if task is None:
                task = self.tasks[event.file] = self.progress.add_task(escape(event.file), total=event.total)
            note = {"cached": " (cached)", "verify": " (verifying)", "done": " ✓"}.get(event.kind, "")
            self.progress.update(task, completed=event.done, description=escape(event.file) + note)

    def __enter__(self):
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()


@data_app.command("fetch", cls=NnctlCommand)
def fetch_command(
    name: str = typer.Argument(..., help="The dataset: " + ", ".join(CATALOG) + "."),
    mirror: Optional[str] = typer.Option(
        None, "--mirror", metavar="URL", help="A folder URL that serves the files, instead of the default mirrors."
    ),
    retries: int = typer.Option(
        3, "--retries", min=0, max=100, help="Extra tries per mirror after a failed transfer (each resumes it)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the dataset's folder."),
) -> None:
    """Download a dataset into the cache ($NNCTL_DATA, else ~/.cache/nnctl/data), checking every file's SHA-256."""
    from ..data.fetch import fetch  # the network modules load only for this command

    with _FetchDisplay(quiet) as display:
        result = fetch(name, mirror=mirror, retries=retries, progress=display)
    out = render.console()
    if quiet:
        out.print(str(result.directory), markup=False)
        return
    spec = CATALOG[result.name]
    done = f"downloaded {megabytes(result.bytes_downloaded)}" if result.downloaded else "already cached"
    out.print(
        f"{result.name}: {len(spec.files)} file(s), {megabytes(spec.size)}, {done}, in {escape(str(result.directory))}"
    )
    out.print(f"use it with: nnctl train --data {result.name}")


@data_app.command("list", cls=NnctlCommand)
def list_command(
    verify: bool = typer.Option(
        False, "--verify", help="Also check the SHA-256 of every cached file (reads them all)."
    ),
) -> None:
    """Show each dataset nnctl knows by name: whether it is here, where, and its size."""
    table = Table(show_edge=False, box=None)
    for column in ("dataset", "state", "size", "where"):
        table.add_column(column, style="bold" if column == "dataset" else None, overflow="fold")
    styles = {"fetched": "green", "partial": "yellow", "corrupt": "red", "missing": "dim"}
    for name in CATALOG:
        st = cache_status(name, verify=verify)
        state = {
            "fetched": "cached" + (", verified" if verify else ""),
            "partial": f"partial: {st.files_present} of {st.files_total} file(s)",
            "corrupt": "corrupt: fetch again",
            "missing": "not fetched",
        }[st.state]
        size = {"fetched": megabytes(st.bytes_total), "missing": f"{megabytes(st.bytes_total)} to fetch"}.get(
            st.state, f"{megabytes(st.bytes_present)} of {megabytes(st.bytes_total)}"
        )
        table.add_row(name, f"[{styles[st.state]}]{state}[/{styles[st.state]}]", size, escape(str(st.directory)))
    for name, path in bundled_files().items():
        size = megabytes(path.stat().st_size) if path.is_file() else "-"
        table.add_row(name, "bundled", size, "inside nnctl (no download)")
    out = render.console()
    out.print(table)
    out.print(f"[dim]cache: {escape(str(data_home()))} (NNCTL_DATA moves it); fetch with 'nnctl data fetch NAME'[/dim]")
