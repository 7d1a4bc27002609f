"""Training-health diagnostics: the inner state that explains why a network trains or does not.

Once per epoch (and at epoch 0, before any update) a fixed probe of training samples (256, or a
tenth of the training set when that is smaller, but at least 32) is passed
through the model in evaluation mode, so measuring never changes training: no dropout mask or
batch-norm running average is touched and no generator is drawn from. Per layer it records

- ``act_mean``, ``act_std``: statistics of the layer's outputs on the probe;
- ``saturated``: for sigmoid/tanh-like layers, the fraction of outputs within 1% of a bound, where
  the derivative is nearly zero (the notes' saturation picture for N(0,1) weights);
- ``dead``: for ReLU-like layers, the fraction of units that output zero for every probe sample;
- ``grad_norm``: ‖∂L/∂W‖ of each parameterized layer, from a backward pass of the probe's loss;
- ``weight_norm``: ‖W‖;
- ``update_ratio``: ‖ΔW‖/‖W‖ of the epoch's last update (a rule of thumb puts healthy values
  near 1e-3);
- ``symmetry``: for hidden dense layers, the mean pairwise correlation of units' incoming weight
  vectors — 1 when every unit is the same (zero initialization never breaks that symmetry).

Rules turn these into warnings (see :data:`RULES`). The collector is a training callback and knows
nothing of files: the results module writes its rows to ``diagnostics.csv``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

PROBE_SIZE = 256
RELU_LIKE = ("relu", "leaky_relu", "prelu", "rrelu")
SATURATING = ("sigmoid", "tanh", "softsign")

RULES = {
    "vanishing_gradients": "first/last layer gradient-norm ratio {value:.2g} < 1e-3: gradients vanish on the way down "
    "(saturated units or too-small weights; try He/Glorot init or ReLU)",
    "exploding_gradients": "first/last layer gradient-norm ratio {value:.2g} > 1e3: gradients explode on the way down "
    "(weights too large; try Glorot/He init, a lower learning rate or --clip-norm)",
    "dead_units": "{value:.0%} of the units of layer {layer} output zero for every probe sample (dead ReLUs; "
    "lower the learning rate, use leaky_relu, or a small positive bias init)",
    "saturated_units": "{value:.0%} of the outputs of layer {layer} are saturated (gradients vanish; "
    "use Glorot init or ReLU)",
    "symmetric_units": "hidden units of layer {layer} are identical (symmetry {value:.3f}): zero or constant "
    "initialization never breaks the symmetry; use a random initializer",
    "update_ratio": "update/weight ratio {value:.2g} of layer {layer} is far from ~1e-3 "
    "(learning rate too {direction})",
}


def symmetry_score(W: np.ndarray) -> float:
    """Mean pairwise correlation between the columns (units' incoming weights) of W; 1 if all equal."""
    W = np.asarray(W)
    units = W.shape[1]
    if units < 2:
        return float("nan")
    spread = W.max(axis=1) - W.min(axis=1)  # zero in every row ⇔ all columns equal
    if float(spread.max(initial=0.0)) <= 1e-6 * float(np.abs(W).max(initial=0.0)):
        return 1.0
    centered = W - W.mean(axis=0, keepdims=True)
    norms = np.sqrt(np.einsum("ij,ij->j", centered, centered))
    ok = norms > 0
    if ok.sum() < 2:
        return 1.0
    unit = centered[:, ok] / norms[ok]
    total = unit.sum(axis=1)  # Σ_ij corr_ij = ‖Σ_j u_j‖², so no k×k matrix is needed
    k = int(ok.sum())
    return float((total @ total - k) / (k * (k - 1)))


def probe_indices(n_train: int, seed: int, probe_size: int = PROBE_SIZE) -> np.ndarray:
    """The training samples the diagnostics measure: a fixed, sorted draw from their own generator
    (``probe_size`` of them, or a tenth of the training set when that is smaller, but at least 32)."""
    size = min(probe_size, max(32, n_train // 10))
    return np.sort(np.random.default_rng(seed).permutation(n_train)[:size])


class DiagnosticsCollector:
    """Training callback computing per-layer statistics each epoch and the warnings they trigger."""

    def __init__(self, probe_size: int = PROBE_SIZE, seed: int = 0):
        self.probe_size = probe_size
        self.seed = seed
        self.rows: list[dict[str, Any]] = []
        self.warnings: dict[str, str] = {}  # rule key (with layer) → message, first firing kept
        self.new_warnings: list[str] = []

    # --- callback hooks --------------------------------------------------------------------------
    def on_train_begin(self, run) -> None:
        self.run = run
        X, y = run.splits.X_train, run.splits.y_train
        # a fixed probe drawn with its own generator: the run's generators are left untouched
        pick = probe_indices(len(X), self.seed, self.probe_size)
        self.X, self.y = X[pick], y[pick]
        self.layers = [(i + 1, layer) for i, layer in enumerate(run.model.layers)]
        self.previous = run.model.params.copy()
        self.before_last = None
        self.n_batches = None

    def on_batch_end(self, epoch: int, batch: int, n_batches: int, loss: float) -> None:
        self.n_batches = n_batches
        if batch == n_batches - 1:  # parameters just before the epoch's last update
            if self.before_last is None:
                self.before_last = self.run.model.params.copy()
            else:
                np.copyto(self.before_last, self.run.model.params)

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        epoch = int(row["epoch"])
        params = self.run.model.params
        before = self.previous if (self.n_batches in (None, 1) or self.before_last is None) else self.before_last
        self._measure(epoch, before if epoch > 0 else None)
        np.copyto(self.previous, params)

    def on_train_end(self, result) -> None:
        pass

    # --- measuring -------------------------------------------------------------------------------
    def _measure(self, epoch: int, before: np.ndarray | None) -> None:
        model, loss = self.run.model, self.run.loss
        self.new_warnings = []
        record, model.record_outputs = model.record_outputs, True
        try:
            logits = model.forward(self.X, training=False)
            outputs = list(model.outputs)
        finally:
            model.record_outputs = record
        _, dlogits = loss.value_and_grad(logits, self.y)
        model.backward(dlogits)
        grad_norms: list[tuple[str, float]] = []
        for (index, layer), out in zip(self.layers, outputs):
            name = f"{index}:{layer.name}"
            self._add(epoch, name, "act_mean", float(np.mean(out)))
            self._add(epoch, name, "act_std", float(np.std(out)))
            if layer.name in SATURATING:
                lo, hi = getattr(layer, "bounds", None) or ((-1.0, 1.0) if layer.name == "tanh" else (0.0, 1.0))
                margin = 0.01 * (hi - lo)
                frac = float(np.mean((out <= lo + margin) | (out >= hi - margin)))
                self._add(epoch, name, "saturated", frac)
                if frac > 0.5:
                    self._warn(epoch, "saturated_units", name, frac)
            if layer.name in RELU_LIKE:
                per_unit = out.reshape(out.shape[0], out.shape[1], -1) if out.ndim > 2 else out[:, :, None]
                dead = float(np.mean(np.all(per_unit <= 0, axis=(0, 2))))
                self._add(epoch, name, "dead", dead)
                if dead > 0.5:
                    self._warn(epoch, "dead_units", name, dead)
            weights = [spec.name for spec in layer.param_specs if spec.regularize]
            if not weights:
                continue
            w, g = layer.params[weights[0]], layer.grads[weights[0]]
            gnorm = float(np.linalg.norm(g))
            wnorm = float(np.linalg.norm(w))
            grad_norms.append((name, gnorm))
            self._add(epoch, name, "grad_norm", gnorm)
            self._add(epoch, name, "weight_norm", wnorm)
            if before is not None and wnorm > 0:
                sl = self._slice_of(w)
                ratio = float(np.linalg.norm(model.params[sl] - before[sl])) / wnorm
                self._add(epoch, name, "update_ratio", ratio)
                if ratio > 0 and (ratio < 1e-5 or ratio > 1e-1):
                    self._warn(epoch, "update_ratio", name, ratio, direction="low" if ratio < 1e-5 else "high")
            if layer.name == "dense" and index != self.layers[-1][0]:
                score = symmetry_score(w)
                self._add(epoch, name, "symmetry", score)
                if score > 0.99:
                    self._warn(epoch, "symmetric_units", name, score)
        if len(grad_norms) >= 2:
            first, last = grad_norms[0][1], grad_norms[-1][1]
            if last > 0 and math.isfinite(first) and math.isfinite(last):
                ratio = first / last
                self._add(epoch, "model", "grad_ratio_first_last", ratio)
                if ratio < 1e-3:
                    self._warn(epoch, "vanishing_gradients", "model", ratio)
                elif ratio > 1e3:
                    self._warn(epoch, "exploding_gradients", "model", ratio)

    def _slice_of(self, view: np.ndarray) -> slice:
        base = self.run.model.params
        start = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // base.itemsize
        return slice(start, start + view.size)

    def _add(self, epoch: int, layer: str, stat: str, value: float) -> None:
        self.rows.append({"epoch": epoch, "layer": layer, "stat": stat, "value": value})

    def _warn(self, epoch: int, rule: str, layer: str, value: float, **extra: Any) -> None:
        key = f"{rule}@{layer}"
        if key in self.warnings:
            return
        message = f"epoch {epoch}: " + RULES[rule].format(value=value, layer=layer, **extra)
        self.warnings[key] = message
        self.new_warnings.append(message)

    def summary(self) -> list[str]:
        return list(self.warnings.values())
