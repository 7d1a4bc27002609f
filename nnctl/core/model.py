"""A sequential model whose parameters live in one contiguous buffer.

``Model(layers).build(input_shape, rng)`` infers every layer's shape, then allocates two flat
arrays, ``params`` and ``grads``, and hands each layer views into them. Weights that regularizers
and weight decay act on are placed first, so "all regularized parameters" is the single slice
``params[:n_decay]``; biases, batch-norm and PReLU parameters follow. An optimizer then updates the
whole model with a handful of vectorized NumPy calls instead of a Python loop per tensor.

Initial values are drawn layer by layer, in declaration order, from the generator passed in, so the
same seed gives the same weights whatever the buffer layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ConfigError, ShapeError, TrainingError
from .layers.base import BuildContext, Layer, ParamSpec, layer_from_config


class Model:
    """A stack of layers trained end to end. Outputs are logits; losses apply softmax/sigmoid."""

    def __init__(self, layers: list[Layer]):
        if not layers:
            raise ConfigError("a model needs at least one layer")
        self.layers = list(layers)
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.dtype = np.dtype(np.float32)
        self.params = np.zeros(0, dtype=self.dtype)
        self.grads = np.zeros(0, dtype=self.dtype)
        self.n_decay = 0
        self.specs: list[ParamSpec] = []
        self.training = False
        #: when True, forward keeps each layer's output in ``self.outputs`` (for diagnostics).
        self.record_outputs = False
        self.outputs: list[np.ndarray] = []

    # --- building ------------------------------------------------------------------------------
    def build(
        self,
        input_shape: tuple[int, ...],
        rng: np.random.Generator,
        dtype: Any = np.float32,
    ) -> Model:
        """Infer shapes, allocate the parameter buffer and draw initial values from ``rng``."""
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ConfigError(f"dtype {self.dtype} is not supported; allowed: float32, float64")
        ctx = BuildContext(rng=rng, dtype=self.dtype)
        shape = tuple(int(d) for d in input_shape)
        self.input_shape = shape
        for index, layer in enumerate(self.layers):
            try:
                shape = layer.build(shape, ctx)
            except ShapeError as exc:
                raise ShapeError(f"layer {index + 1} ({layer.label()}): {exc}") from None
            if any(d <= 0 for d in shape):
                raise ShapeError(
                    f"layer {index + 1} ({layer.label()}) maps input {_fmt(layer.input_shape)} "
                    f"to an empty output {_fmt(shape)}"
                )
        self.output_shape = shape
        for i, layer in enumerate(self.layers):
            layer.need_input_grad = i > 0
        self._allocate(rng)
        return self

    def _allocate(self, rng: np.random.Generator) -> None:
        specs = [s for layer in self.layers for s in layer.all_param_specs()]
        self.specs = specs
        ordered = [s for s in specs if s.regularize] + [s for s in specs if not s.regularize]
        total = sum(s.size for s in specs)
        self.params = np.zeros(total, dtype=self.dtype)
        self.grads = np.zeros(total, dtype=self.dtype)
        self.n_decay = sum(s.size for s in specs if s.regularize)
        offset = 0
        slots: dict[int, slice] = {}
        for s in ordered:
            slots[id(s)] = slice(offset, offset + s.size)
            offset += s.size
        for s in specs:  # initialize in declaration order: layout does not change the numbers
            sl = slots[id(s)]
            view = self.params[sl].reshape(s.shape)
            s.layer.params[s.name] = view
            s.layer.grads[s.name] = self.grads[sl].reshape(s.shape)
            values = s.initializer(s.shape, s.fan_in, s.fan_out, rng)
            view[...] = values

    # --- running -------------------------------------------------------------------------------
    def check_trainable(self) -> None:
        """Refuse to train a model containing a layer with zero gradient everywhere."""
        for layer in self.iter_layers():
            if not layer.differentiable:
                raise TrainingError(
                    f"cannot train with '{layer.name}': its gradient is zero everywhere, so no weight "
                    "below it would ever change; use it for inspection only (try sigmoid or relu)"
                )

    def iter_layers(self):
        stack = list(reversed(self.layers))
        while stack:
            layer = stack.pop()
            yield layer
            stack.extend(reversed(layer.children()))

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Logits for a batch. ``training`` switches dropout/batch norm/rrelu to training behaviour."""
        self.training = training
        if self.record_outputs:
            self.outputs = []
        for layer in self.layers:
            x = layer.forward(x, training)
            if self.record_outputs:
                self.outputs.append(x)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        """Back-propagate dL/dlogits, filling ``self.grads`` (every entry is overwritten)."""
        d = dlogits
        for layer in reversed(self.layers):
            d = layer.backward(d)

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Logits in evaluation mode, computed in batches."""
        outs = [self.forward(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return np.concatenate(outs) if outs else np.zeros((0, *self.output_shape), self.dtype)

    # --- inspecting ----------------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        return int(self.params.size)

    def summary(self) -> list[dict[str, Any]]:
        """One row per layer: index, description, output shape, parameter count."""
        rows = []
        for i, layer in enumerate(self.layers):
            rows.append(
                {
                    "index": i + 1,
                    "layer": layer.label(),
                    "output_shape": list(layer.output_shape or ()),
                    "params": layer.n_params,
                }
            )
        return rows

    def layer_config(self) -> list[dict[str, Any]]:
        return [layer.to_config() for layer in self.layers]

    @classmethod
    def from_config(cls, configs: list[dict[str, Any]]) -> Model:
        return cls([layer_from_config(c) for c in configs])

    def state_dict(self) -> dict[str, np.ndarray]:
        """Named copies of every parameter, plus non-trainable state such as running averages."""
        state: dict[str, np.ndarray] = {}
        for i, layer in enumerate(self.iter_layers()):
            for name, value in layer.params.items():
                state[f"{i:03d}.{layer.name}.{name}"] = np.array(value, copy=True)
            for name, value in getattr(layer, "buffers", lambda: {})().items():
                state[f"{i:03d}.{layer.name}.{name}"] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy values from :meth:`state_dict` output into this (built) model, checking shapes."""
        for i, layer in enumerate(self.iter_layers()):
            targets = dict(layer.params)
            targets.update(getattr(layer, "buffers", lambda: {})())
            for name, target in targets.items():
                key = f"{i:03d}.{layer.name}.{name}"
                if key not in state:
                    raise ShapeError(f"weights have no entry {key!r}; they belong to another model")
                value = np.asarray(state[key])
                if value.shape != target.shape:
                    raise ShapeError(
                        f"weights entry {key!r} has shape {_fmt(value.shape)}, model expects {_fmt(target.shape)}"
                    )
                target[...] = value

    def snapshot(self) -> dict[str, np.ndarray]:
        """A cheap copy of all state (flat parameters + buffers) for restoring the best epoch."""
        return self.state_dict()


def _fmt(shape: Any) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape is not None else "?"
