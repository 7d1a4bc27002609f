"""``nnctl report`` (one self-contained HTML file of results) and ``nnctl view`` (the same pages, live)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..results.outputs import check_output, write_output
from . import render


def report_command(
    paths: Optional[list[str]] = typer.Argument(
        None,
        help="Run ids or directories, sweep ids or directories, experiment folders, globs. "
        "[default: everything under --results-dir]",
    ),
    results_dir: Path = typer.Option(
        Path("results"), "--results-dir", help="Where ids are looked up, and what is shown by default."
    ),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="The HTML file to write. [default: <results-dir>/report.html]"
    ),
    title: str = typer.Option("nnctl report", "--title", help="The page's title."),
    force: bool = typer.Option(False, "--force", help="Replace --out even if nnctl did not write it."),
) -> None:
    """Write one HTML file that opens from disk with no network: runs, sweeps, experiments and range tests."""
    from ..report.html import render_page
    from ..report.model import build_model

    target = check_output(out if out is not None else results_dir / "report.html", "report", force=force)
    model = build_model(paths, results_dir)
    data = render_page(model, title).encode("utf-8")
    write_output(target, data)
    counts = {name: len(model[name]) for name in ("runs", "sweeps", "experiments", "lrfinds")}
    unreadable = sum(1 for page in model["runs"].values() if page["problems"])
    err = render.console(stderr=True)
    for note in model["notes"]:
        err.print(f"warning: {note}", markup=False)
    summary = (
        f"{counts['runs']} runs, {counts['sweeps']} sweeps, {counts['experiments']} experiments, "
        f"{counts['lrfinds']} range tests" + (f"; {unreadable} with unreadable parts" if unreadable else "")
    )
    render.console().print(f"{target} ({len(data) / 1e6:.1f} MB): {summary}", markup=False)


def view_command(
    results_dir: Path = typer.Option(Path("results"), "--results-dir", help="The directory to serve (read only)."),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0: any free port)."),
    host: str = typer.Option(
        "127.0.0.1",
        "--host",
        help="Address to listen on; another than 127.0.0.1 lets other machines read your results.",
    ),
    poll: float = typer.Option(1.5, "--poll", min=0.2, help="Seconds between the page's checks for new results."),
) -> None:
    """Serve the report pages of --results-dir on 127.0.0.1, updated while runs and sweeps are in
    progress. Ctrl-C stops."""
    from ..report.server import _loopback, open_server, url_of

    server = open_server(results_dir, host, port, poll)
    out = render.console()
    if not _loopback(host):
        render.console(stderr=True).print(
            f"warning: listening on {host}: anyone who can reach this machine can read the results in '{results_dir}'",
            markup=False,
        )
    out.print(f"serving '{results_dir}' at {url_of(server)} (read-only; Ctrl-C stops)", markup=False)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        out.print("stopped", markup=False)
    finally:
        server.server_close()
