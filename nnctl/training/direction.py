"""Which direction is better for a metric, and which metric a run actually monitors.

One rule for the whole tool — the fit loop's best epoch and early stopping, ``reduce_on_plateau``,
a sweep's leaderboard, ``compare-runs`` sorting and targets, experiment reports: accuracies and the
coefficient of determination R² are better when higher; losses and errors (MSE, MAE) when lower.
A column name may carry a prefix or suffix (``best_val_acc``, ``test_r2``, ``best_val_acc_mean``);
the rule reads the metric inside it.
"""

from __future__ import annotations

#: endings of metric names that are better when higher (everything else is better when lower)
HIGHER_IS_BETTER = ("acc", "r2")
_AGGREGATE_SUFFIXES = ("_mean", "_median", "_min", "_max")


def higher_is_better(metric: str) -> bool:
    """True for accuracies and R² (``val_acc``, ``best_val_acc_mean``, ``test_r2``), else False."""
    name = str(metric)
    for suffix in _AGGREGATE_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return name.endswith(HIGHER_IS_BETTER)


def mode(metric: str) -> str:
    """``"max"`` when higher is better, else ``"min"`` (the words PyTorch and Keras use)."""
    return "max" if higher_is_better(metric) else "min"


def effective_monitor(monitor: str, has_validation: bool, task: str) -> str:
    """The metric a run monitors: ``monitor``, with a validation metric falling back to the same
    training metric when there is no validation split, and an accuracy to the loss in regression."""
    if monitor.startswith("val_") and not has_validation:
        monitor = "train_" + monitor[len("val_") :]
    if monitor.endswith("_acc") and task != "classification":
        monitor = monitor[: -len("acc")] + "loss"
    return monitor
