"""The page model of runs: one page per run and the table of all of them.

Everything is plain JSON-able data computed here, in Python, so the numbers a page shows are the
numbers the tests check: the curve by column, the over/underfitting verdict (:mod:`.fit`), the
per-layer heatmaps with the cells where a diagnostics rule holds, and one table row per run with
only the configuration keys that differ between the runs (:func:`nnctl.results.compare.runs_table`).
"""

from __future__ import annotations

import math
from typing import Any

from ..results import compare, curve_groups
from ..results.artifacts import read_diagnostics
from ..results.layer_stats import fired, grad_ratio, heatmaps
from ..results.runs import RunRecord
from ..results.store import written_true
from ..training.direction import higher_is_better
from ..training.status import ALL
from .fit import fit_verdict

#: curve.csv columns a page draws (timing columns stay in the file)
CURVE_SHOWN = (
    "epoch",
    "lr",
    "train_loss",
    "train_acc",
    "train_mae",
    "val_loss",
    "val_acc",
    "val_mae",
    "reg_loss",
    "grad_norm",
)
#: statuses a run can have on a page (``running`` while its process holds the lock)
STATUSES = ALL


def column_lists(frame, columns) -> dict[str, list]:
    """A frame as ``{column: [values]}`` (missing values as None)."""
    out: dict[str, list] = {}
    for col in columns:
        if col in frame.columns and frame[col].notna().any():
            out[col] = [
                None
                if v is None or (isinstance(v, float) and not math.isfinite(v))
                else (int(v) if col == "epoch" else float(v))
                for v in frame[col].tolist()
            ]
    return out


def warnings_of(record: RunRecord) -> list[str]:
    text = record.metrics.get("warnings")
    return [w.strip() for w in str(text).split(" | ") if w.strip()] if text else []


def run_page(key: str, record: RunRecord, problems: list[str], where: str | None) -> dict[str, Any]:
    """Everything a run's page shows."""
    cfg = record.config.get("config") if isinstance(record.config.get("config"), dict) else {}
    diag, more = read_diagnostics(record.path)
    problems = problems + more
    status = record.metrics.get("status") or ("incomplete" if not record.metrics else "unknown")
    page: dict[str, Any] = {
        "key": key,
        "id": record.path.name,
        "where": where,
        "status": status,
        "stop_reason": record.metrics.get("stop_reason"),
        "title": curve_groups.describe_run(record) if cfg else "",
        "problems": problems,
        "config": cfg,
        "given": record.config.get("given") or {},
        "layers": record.config.get("summary") or [],
        "params": record.config.get("params"),
        "data": record.config.get("data") or {},
        "sweep": record.config.get("sweep"),
        "provenance": record.config.get("provenance") or {},
        "metrics": {k: v for k, v in record.metrics.items() if k != "warnings"},
        "warnings": warnings_of(record),
        "curve": column_lists(record.curve, CURVE_SHOWN) if len(record.curve) else {},
        "monitor": record.metrics.get("monitor") or cfg.get("monitor") or "val_loss",
        "best_epoch": _int(record.metrics.get("best_epoch")),
        "fit": fit_verdict(record.curve, record.metrics),
        "diagnostics": None,
    }
    if len(diag):
        page["diagnostics"] = {"heatmaps": heatmaps(diag), "fired": fired(diag), "grad_ratio": grad_ratio(diag)}
    return page


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value)


def runs_table(
    records: dict[str, RunRecord],
    pages: dict[str, dict[str, Any]],
    keys: list[str] | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """The runs table: per run the differing configuration keys (or ``keys``), status, the best and
    final value of ``metric`` (val_acc, or val_loss for regression), the test metric, epochs,
    seconds and warnings. Rows keep the order of ``records``."""
    if not records:
        return {"metric": metric or "val_acc", "keys": keys or [], "rows": [], "better": "higher"}
    order = list(records)
    recs = [records[k] for k in order]
    available = compare.curve_metrics(recs)
    metric = metric if metric in available else compare.default_metric(recs)
    frame, differing = compare.runs_table(recs, metric if metric in available else None)
    shown = differing if keys is None else keys
    rows = []
    for key, (_, row) in zip(order, frame.iterrows()):
        page = pages[key]
        values = {}
        for k in shown:
            if k in row.index:
                values[k] = _plain(row[k])
            else:  # a sweep axis: the trial's value
                values[k] = _plain(((page.get("sweep") or {}).get("params") or {}).get(k, page["config"].get(k)))
        suffix = metric.split("_", 1)[1] if "_" in metric else metric
        rows.append(
            {
                "key": key,
                "run": page["id"],
                "where": page["where"],
                "values": values,
                "status": page["status"],
                "stop_reason": page.get("stop_reason"),
                "audited": written_true(page["metrics"].get("audited")),  # pruned, trained on anyway
                "best": _plain(row.get(f"best_{metric}")),
                "best_epoch": _int(row.get("best_epoch")),
                "final": _plain(row.get(f"final_{metric}")),
                "test": _plain(row.get(f"test_{suffix}")),
                "epochs": _int(row.get("epochs_run")),
                "seconds": _plain(row.get("seconds")),
                "warnings": len(page["warnings"]),
                "warning_text": page["warnings"],
                "fit": page["fit"]["verdict"],
                "problems": page["problems"],
            }
        )
    suffix = metric.split("_", 1)[1] if "_" in metric else metric
    return {
        "metric": metric,
        "test_metric": f"test_{suffix}",
        "keys": shown,
        "rows": rows,
        "better": "higher" if higher_is_better(metric) else "lower",
    }


def _plain(value: Any) -> Any:
    """A table cell as JSON: numbers as numbers (NaN as None), everything else as it is or as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return None if isinstance(value, float) and not math.isfinite(value) else value
    if hasattr(value, "item"):
        return _plain(value.item())
    if isinstance(value, (str, list, dict)):
        return value
    return str(value)
