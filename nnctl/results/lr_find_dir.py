"""An lr-find directory: ``lr_find.csv`` (every step), ``lr_find.json`` (settings, each seed's
suggestions, their spread, the recommendation and why) and ``lr_find.png`` (the curves)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import plots
from .store import write_csv, write_json

CSV_COLUMNS = ["repeat", "step", "lr", "loss", "smoothed_loss"]


def write_lr_find(
    run_dir: Path,
    tests: list[Any],
    stats: dict[str, dict[str, float]],
    lr: float,
    settings: dict[str, Any],
    recommended: str,
    why: str,
) -> None:
    """Write the range tests of one ``nnctl lr-find`` into ``run_dir``."""
    if len(tests) > 1:
        rows = [dict(r, repeat=k) for k, t in enumerate(tests) for r in t.rows()]
        write_csv(run_dir / "lr_find.csv", rows, CSV_COLUMNS)
    else:
        write_csv(run_dir / "lr_find.csv", tests[0].rows(), CSV_COLUMNS[1:])
    tested = [
        {"seed": t.seed, "steps": t.steps, "stop_reason": t.stop_reason, "suggestions": t.suggestions} for t in tests
    ]
    write_json(
        run_dir / "lr_find.json",
        {
            "run_id": run_dir.name,
            "config": tests[0].config,
            "lr_find": settings,
            "tests": tested,
            "spread": stats,
            "recommended": recommended,
            "why": why,
            "lr": lr,
        },
    )
    plots.plot_lr_find(tests, run_dir / "lr_find.png", recommended, stats)
