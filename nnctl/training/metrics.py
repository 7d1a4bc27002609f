"""Evaluation metrics: loss and accuracy for classification; loss, MSE, MAE and R² for regression."""

from __future__ import annotations

import numpy as np


def evaluate(
    model, loss, X: np.ndarray, y: np.ndarray, batch_size: int = 2048, task: str | None = None
) -> dict[str, float]:
    """Metrics of ``model`` on (X, y) in evaluation mode (dropout off, running batch-norm statistics).

    ``task`` defaults to the loss's; a regression run with binary cross-entropy on targets in [0, 1]
    passes "regression" and gets MSE/MAE/R² of the predicted probabilities.
    """
    if len(X) == 0:
        return {}
    logits = model.predict(X, batch_size=batch_size)
    out = {"loss": float(loss.value(logits, y))}
    if (task or loss.task) == "classification":
        out["acc"] = float(np.mean(loss.predict_labels(logits) == y))
    else:
        pred = loss.output(logits).reshape(y.shape).astype(np.float64)
        err = pred - y
        out["mse"] = float(np.mean(err**2))
        out["mae"] = float(np.mean(np.abs(err)))
        ss_tot = float(np.sum((y - y.mean(axis=0)) ** 2))
        out["r2"] = 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan")
    return out
