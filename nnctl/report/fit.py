"""Does a run over- or underfit? A verdict from its learning curves, with the numbers behind it.

The notes read learning curves like this:

- **overfitting** — the training loss keeps falling while the validation loss turns up: the
  network learns the training set's noise. Said here when the validation loss ends more than 10%
  above its minimum while the training loss is lower than it was at that best epoch, or when
  training accuracy ends 0.05 or more above validation accuracy (a generalization gap);
- **underfitting** — both stay high: too small a model, too low a learning rate, too few epochs,
  a network that cannot learn (zero initialization). Said when the training loss has come down by
  less than half from its epoch-0 value, or when validation was still improving at the end (its
  best epoch is among the last fifth of the epochs and the validation loss fell by more than 5%
  over them): training longer would help;
- **good fit** — validation follows training and levels off; the gap stays small.

A run can show signs of both (a saturated network that learns slowly and memorizes as it does):
the verdict is the first that applies in this order, ``also`` names the other, and the reason
gives every sign.

The gap at the best and at the last epoch is reported in every case: validation loss − training
loss, and training − validation accuracy (for regression, validation − training MAE). Training
metrics of an epoch are means over its minibatches, with dropout and augmentation on while the
weights move; validation is measured after the epoch in evaluation mode. So a regularized run can
show a negative gap; that is not a fault.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

OVERFIT_RISE = 0.10  # validation loss above its minimum, relative
OVERFIT_GAP = 0.05  # accuracy gap at the last epoch
UNDERFIT_DROP = 0.5  # training loss must fall by at least this fraction of its epoch-0 value
RECENT = 0.2  # the last fifth of the epochs
RECENT_GAIN = 0.05


class _Columns:
    """A curve's columns as {epoch: value} (one lookup per number, not a pandas query)."""

    def __init__(self, curve: pd.DataFrame):
        epochs = [int(e) for e in curve["epoch"]]
        self.columns = {c: dict(zip(epochs, curve[c].astype(float).tolist())) for c in curve.columns if c != "epoch"}

    def __call__(self, column: str, epoch: int) -> float | None:
        value = self.columns.get(column, {}).get(epoch, math.nan)
        return value if math.isfinite(value) else None


def fit_verdict(curve: pd.DataFrame, metrics: dict[str, Any] | None = None) -> dict[str, Any]:
    """``{verdict, reason, numbers}`` for one run's curve (see the module docstring for the rules).

    ``verdict`` is ``overfitting``, ``underfitting``, ``good fit``, ``diverged`` or ``unknown``;
    ``numbers`` holds the best and last epoch and the gaps there.
    """
    metrics = metrics or {}
    status = metrics.get("status")
    if curve is None or curve.empty or "epoch" not in curve.columns:
        return {"verdict": "unknown", "reason": "no learning curve to read", "numbers": {}}
    curve = curve.sort_values("epoch")
    if "val_loss" not in curve.columns or not curve["val_loss"].notna().any():
        return {
            "verdict": "unknown",
            "reason": "no validation data: over- or underfitting cannot be told",
            "numbers": {},
        }
    kind = "acc" if "train_acc" in curve.columns and curve["train_acc"].notna().any() else "mae"
    valid = curve[curve["val_loss"].notna() & curve["train_loss"].notna()] if "train_loss" in curve else curve.iloc[0:0]
    epochs = [int(e) for e in valid["epoch"]]
    if len(epochs) < 3:
        return {
            "verdict": "diverged" if status == "diverged" else "unknown",
            "reason": "too few epochs to tell" + (" (the run diverged)" if status == "diverged" else ""),
            "numbers": {},
        }
    _at_cols = _Columns(valid)
    _at = lambda frame, column, epoch: _at_cols(column, epoch)  # noqa: E731
    first, last = epochs[0], epochs[-1]
    best = metrics.get("best_epoch")
    if not isinstance(best, (int, float)) or isinstance(best, bool) or math.isnan(best) or int(best) not in epochs:
        best = int(valid.loc[valid["val_loss"].idxmin(), "epoch"])
    best = int(best)
    n: dict[str, Any] = {"best_epoch": best, "last_epoch": last, "metric": kind}
    n["train_loss_first"] = _at(valid, "train_loss", first)
    n["train_loss_best"], n["train_loss_last"] = _at(valid, "train_loss", best), _at(valid, "train_loss", last)
    n["val_loss_best"], n["val_loss_last"] = _at(valid, "val_loss", best), _at(valid, "val_loss", last)
    n["val_loss_min"] = float(valid["val_loss"].min())
    n["gap_loss_best"] = n["val_loss_best"] - n["train_loss_best"]
    n["gap_loss_last"] = n["val_loss_last"] - n["train_loss_last"]
    if kind == "acc":
        gap = lambda e: (_at(valid, "train_acc", e) or math.nan) - (_at(valid, "val_acc", e) or math.nan)  # noqa: E731
    else:
        gap = lambda e: (_at(valid, "val_mae", e) or math.nan) - (_at(valid, "train_mae", e) or math.nan)  # noqa: E731
    n["gap_metric_best"], n["gap_metric_last"] = gap(best), gap(last)
    n["val_rise"] = n["val_loss_last"] / n["val_loss_min"] - 1.0 if n["val_loss_min"] > 0 else math.nan
    start = n["train_loss_first"]
    n["train_drop"] = 1.0 - n["train_loss_last"] / start if start and start > 0 else math.nan
    k = max(2, round(RECENT * (last - first)))
    earlier = _at(valid, "val_loss", epochs[max(0, len(epochs) - 1 - k)])
    n["recent_gain"] = (earlier - n["val_loss_last"]) / earlier if earlier and earlier > 0 else math.nan
    gaps = (
        f"gap (validation − training loss) {n['gap_loss_best']:+.3g} at the best epoch {best}, "
        f"{n['gap_loss_last']:+.3g} at the last epoch {last}"
    )
    if kind == "acc" and math.isfinite(n["gap_metric_last"]):
        gaps += f"; accuracy gap (training − validation) {n['gap_metric_best']:+.3g} → {n['gap_metric_last']:+.3g}"
    if status == "diverged":
        return {"verdict": "diverged", "reason": "the loss became NaN or infinite; " + gaps, "numbers": n}
    signals: list[tuple[str, str]] = []
    if math.isfinite(n["val_rise"]) and n["val_rise"] > OVERFIT_RISE and n["train_loss_last"] < n["train_loss_best"]:
        signals.append(
            (
                "overfitting",
                f"validation loss rose {n['val_rise']:.0%} above its minimum {n['val_loss_min']:.3g} "
                f"while the training loss kept falling ({n['train_loss_best']:.3g} → {n['train_loss_last']:.3g})",
            )
        )
    if kind == "acc" and math.isfinite(n["gap_metric_last"]) and n["gap_metric_last"] >= OVERFIT_GAP:
        signals.append(("overfitting", f"training accuracy is {n['gap_metric_last']:.3g} above validation at the end"))
    if math.isfinite(n["train_drop"]) and n["train_drop"] < UNDERFIT_DROP:
        fell = f"fell only {n['train_drop']:.0%}" if n["train_drop"] >= 0.005 else "did not fall"
        signals.append(
            (
                "underfitting",
                f"the training loss {fell} from epoch {first} ({start:.3g} → "
                f"{n['train_loss_last']:.3g}): the network learns little",
            )
        )
    elif best >= last - k and math.isfinite(n["recent_gain"]) and n["recent_gain"] > RECENT_GAIN:
        signals.append(
            (
                "underfitting",
                f"still improving: validation loss fell {n['recent_gain']:.0%} over the last "
                f"{k} epochs and the best epoch is {best} of {last}: train longer",
            )
        )
    if not signals:
        return {"verdict": "good fit", "reason": f"validation follows training and levels off; {gaps}", "numbers": n}
    verdict = signals[0][0]
    return {
        "verdict": verdict,
        "reason": "; ".join(dict.fromkeys(why for _, why in signals)) + f"; {gaps}",
        "also": sorted({v for v, _ in signals} - {verdict}),
        "numbers": n,
    }
