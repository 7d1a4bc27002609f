"""``nnctl train``: compose a run from flags, train it, write its results directory."""

from __future__ import annotations

from typing import Any, Optional

import typer

from ..results import RunRecorder, make_run_dir, write_csv
from ..results.store import check_results_dir
from ..training import fit, prepare
from ..training.config import RunConfig
from ..training.lr_find import auto_lr, summary
from ..training.sanity import InitialLossCheck, overfit_batch
from ..training.threads import available_cores
from . import render
from .options import run_options


@run_options
def train_command(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only the results path."),
    overfit: Optional[int] = typer.Option(
        None,
        "--overfit-batch",
        metavar="N",
        help="Sanity check instead of a run: train on N fixed training samples without regularization until "
        "100% training accuracy; exit 1 if not reached within --overfit-steps.",
    ),
    overfit_steps: int = typer.Option(500, "--overfit-steps", metavar="N", help="Step limit of --overfit-batch."),
    run_flags: dict[str, Any] | None = None,
) -> None:
    """Train one model and write config.json, curve.csv, metrics.csv and weights.npz to results/<run-id>/."""
    cfg = RunConfig.from_dict(run_flags or {})
    if cfg.threads is None:  # one run uses every core; config.json records how many
        cfg = cfg.replace(threads=available_cores())
    out = render.console()
    if overfit is not None:
        check = overfit_batch(cfg, overfit, overfit_steps)
        if not check.success:
            render.console(stderr=True).print(check.message(), markup=False)
            raise typer.Exit(1)
        out.print(check.message(), markup=False)
        return
    found = None
    if cfg.lr == "auto":  # range test on the prepared run (restored afterwards), then its recommended rate
        check_results_dir(cfg.results_dir)  # a results directory that cannot be written fails before the test
        run, found, lr = auto_lr(cfg)
        cfg = cfg.replace(lr=lr)
        if not quiet:
            out.print(f"lr auto: range test suggests {_suggestions(found)}; using {lr:g}", markup=False)
    else:
        run = prepare(cfg)  # every configuration error surfaces here, before anything is written
    if not quiet:
        out.print(render.layer_table(run.model.summary(), run.dataset.input_shape, run.model.n_params))
    run_dir = make_run_dir(cfg.results_dir, cfg.name, need_bytes=_weights_bytes(run))
    extra: dict[str, Any] = {"given": dict(run_flags or {})}  # what the user set, as written
    if found:
        extra["lr_find"] = summary(found, cfg.lr)
    recorder = RunRecorder(run_dir, extra)
    progress = render.ProgressReporter(cfg.epochs, quiet=quiet, out=out)
    try:
        if found:
            write_csv(run_dir / "lr_find.csv", found.rows())
        result = fit(run, [InitialLossCheck(), recorder, progress])
    except KeyboardInterrupt:  # outside the epoch loop (which records it itself)
        recorder.abort("interrupted", "interrupted by the user")
        raise
    except BaseException as exc:  # a write that failed, a bug: the run says how it ended
        recorder.abort("failed", f"{type(exc).__name__}: {exc}")
        raise
    metrics = dict(result.final)
    if quiet:
        out.print(str(run_dir))
    else:
        out.print(render.result_table(str(run_dir), result, metrics))
    for warning in result.warnings:
        render.console(stderr=True).print(f"warning: {warning}", markup=False)
    if result.status == "diverged":
        render.console(stderr=True).print(f"diverged: {result.stop_reason}")
        raise typer.Exit(1)
    if result.status == "interrupted":
        raise typer.Exit(130)


def _weights_bytes(run) -> int:
    """About what weights.npz will take: the flat parameter buffer plus layer state (running
    averages), counted without copying anything."""
    model = run.model
    state = sum(int(b.nbytes) for layer in model.iter_layers() for b in getattr(layer, "buffers", dict)().values())
    return int(model.params.nbytes) + state


def _suggestions(test) -> str:
    return ", ".join(f"{name} {lr:.3g}" for name, lr in test.suggestions.items())
