"""Training-health diagnostics: the inner state that explains why a network trains or does not.

Once per epoch (and at epoch 0, before any update) a fixed probe of training samples (256, or a
tenth of the training set when that is smaller, but at least 32) is passed
through the model in evaluation mode, so measuring never changes training: no dropout mask or
batch-norm running average is touched and no generator is drawn from. Per layer it records

- ``act_mean``, ``act_std``: statistics of the layer's outputs on the probe;
- ``saturated``: for sigmoid/tanh-like layers, the fraction of outputs within 1% of a bound, where
  the derivative is nearly zero (the notes' saturation picture for N(0,1) weights);
- ``dead``: for ReLU layers, the fraction of units that output zero for every probe sample (a
  leaky or parametric ReLU still passes a gradient where it is negative, so it is not counted);
- ``grad_norm``: ‖∂L/∂W‖ of each parameterized layer, from a backward pass of the probe's loss;
- ``weight_norm``: ‖W‖;
- ``update_ratio``: ‖ΔW‖/‖W‖ of the epoch's last update (a rule of thumb puts healthy values
  near 1e-3);
- ``symmetry``: for hidden dense layers, the mean pairwise correlation of units' incoming weight
  vectors — 1 when every unit is the same.

Rules turn these into warnings (see :data:`RULES`); their advice is what measurement on digits
supports (8 hidden layers of 32 units, SGD at lr 0.1, 20 epochs, 2 seeds):

- saturated tanh units (N(0,1) weights): Glorot init took validation accuracy from 0.44 to 0.97;
- saturated or vanishing sigmoid networks: smaller weights do not help — Glorot or He init gave
  0.10 against 0.66 with N(0,1) — since σ′ ≤ 1/4 shrinks the gradient at every layer; tanh with
  Glorot init (0.97) or ReLU with He init (0.98) trained;
- dead ReLUs (2-layer MLP, lr 2.0: every unit dead, 0.10): lr 0.5 gave 0.97; a positive bias
  init (0.01) or leaky ReLU at lr 2.0 did not help (dead, or diverged).

Identical hidden units are a warning only when the symmetry cannot break or did not: units with
identical incoming weights still become different when the layer they feed weights them
differently (a randomly initialized output layer) or a dropout mask tells them apart.

The collector is a training callback and knows nothing of files: the results module writes its
rows to ``diagnostics.csv``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.layers.activations import ACTIVATIONS
from .callbacks import Callback

PROBE_SIZE = 256
DEAD_CAN_HAPPEN = ("relu",)  # zero output and zero gradient below 0
SATURATING = ("sigmoid", "tanh", "softsign")
#: layers that draw random numbers per unit while training, so identical units get different gradients
PER_UNIT_NOISE = ("dropout", "rrelu")
#: layers whose output for a unit depends on that unit alone (identical units stay identical through them)
UNIT_BY_UNIT = tuple(n for n in ACTIVATIONS.names() if n not in ("maxout", "softmax")) + ("batch_norm", "dropout")

_SIGMOID_ADVICE = (
    "sigmoid's derivative is at most 1/4, so each layer shrinks the gradient whatever the weights' scale: "
    "use tanh with Glorot init or ReLU with He init"
)
RULES = {
    "vanishing_gradients": "first/last layer gradient-norm ratio {value:.2g} < 1e-3: gradients vanish on the way "
    "down ({advice})",
    "exploding_gradients": "first/last layer gradient-norm ratio {value:.2g} > 1e3: gradients explode on the way down "
    "(weights too large; try Glorot/He init, a lower learning rate or --clip-norm)",
    "dead_units": "{value:.0%} of the units of layer {layer} output zero for every probe sample: dead ReLUs get no "
    "gradient and never recover; a too-large learning rate kills them, so lower it",
    "saturated_units": "{value:.0%} of the outputs of layer {layer} are saturated, where the derivative is nearly "
    "zero ({advice})",
    "symmetry_cannot_break": "hidden units of layer {layer} start identical and so do their outgoing weights: every "
    "unit gets the same gradient, so the symmetry can never break (zero or constant initialization of every "
    "layer); use a random initializer",
    "symmetric_units": "hidden units of layer {layer} are still identical after epoch {epoch} (symmetry "
    "{value:.3f}): they compute one function; use a random initializer",
    "update_ratio": "update/weight ratio {value:.2g} of layer {layer} is far from ~1e-3 ({direction})",
}
_ADVICE = {
    "saturated_tanh": "weights too large for tanh: Glorot init keeps its inputs in the linear range",
    "sigmoid": _SIGMOID_ADVICE,
    "weights": "weights too small for the depth: He init for ReLU, Glorot for tanh",
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


class DiagnosticsCollector(Callback):
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
                    advice = _ADVICE["sigmoid" if layer.name == "sigmoid" else "saturated_tanh"]
                    self._warn(epoch, "saturated_units", name, frac, advice=advice)
            if layer.name in DEAD_CAN_HAPPEN:
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
                    direction = (
                        "the layer barely learns: the learning rate is too low, or its gradients vanish"
                        if ratio < 1e-5
                        else "the learning rate is too high"
                    )
                    self._warn(epoch, "update_ratio", name, ratio, direction=direction)
            if layer.name == "dense" and index != self.layers[-1][0]:
                score = symmetry_score(w)
                self._add(epoch, name, "symmetry", score)
                if score > 0.99:
                    if epoch == 0 and not self._symmetry_can_break(index):
                        self._warn(epoch, "symmetry_cannot_break", name, score)
                    elif epoch > 0:
                        self._warn(epoch, "symmetric_units", name, score)
        if len(grad_norms) >= 2:
            first, last = grad_norms[0][1], grad_norms[-1][1]
            if last > 0 and math.isfinite(first) and math.isfinite(last):
                ratio = first / last
                self._add(epoch, "model", "grad_ratio_first_last", ratio)
                if ratio < 1e-3:
                    sigmoid = any(layer.name == "sigmoid" for layer in model.iter_layers())
                    self._warn(
                        epoch,
                        "vanishing_gradients",
                        "model",
                        ratio,
                        advice=_ADVICE["sigmoid" if sigmoid else "weights"],
                    )
                elif ratio > 1e3:
                    self._warn(epoch, "exploding_gradients", "model", ratio)

    def _symmetry_can_break(self, index: int) -> bool:
        """Whether identical units of the dense layer at ``index`` (1-based) can become different.

        They get the same gradient as long as their biases are equal and the next dense layer's
        weights out of them (its rows) are equal too, unless a layer in between draws per-unit
        noise (dropout, rrelu). Anything the check cannot see through (a residual block, a
        convolution) counts as able to break the symmetry: no warning is better than a false one.
        """
        layers = self.run.model.layers
        bias = layers[index - 1].params.get("b")
        if bias is not None and np.ptp(bias) > 0:
            return True
        for layer in layers[index:]:
            if layer.name in PER_UNIT_NOISE and getattr(layer, "rate", 1.0) != 0.0:
                return True
            if layer.name == "dense":
                W = layer.params["W"]
                return bool(np.max(np.ptp(W, axis=0), initial=0.0) > 1e-6 * np.abs(W).max(initial=0.0))
            if layer.name not in UNIT_BY_UNIT or any(np.ptp(p) > 0 for p in layer.params.values()):
                return True
        return True

    def _slice_of(self, view: np.ndarray) -> slice:
        base = self.run.model.params
        start = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // base.itemsize
        return slice(start, start + view.size)

    def _add(self, epoch: int, layer: str, stat: str, value: float) -> None:
        self.rows.append({"epoch": epoch, "layer": layer, "stat": stat, "value": value})

    def _warn(self, epoch: int, rule: str, layer: str, value: float, **extra: Any) -> None:
        key = f"{'symmetry' if rule.startswith('symmetr') else rule}@{layer}"  # one symmetry warning per layer
        if key in self.warnings:
            return
        message = f"epoch {epoch}: " + RULES[rule].format(value=value, layer=layer, epoch=epoch, **extra)
        self.warnings[key] = message
        self.new_warnings.append(message)

    def summary(self) -> list[str]:
        return list(self.warnings.values())
