"""The layer interface shared by every layer, activation and container.

A layer is a :class:`~nnctl.core.registry.Component` (its hyperparameters round-trip through its
config) with four duties, kept side by side so a layer's forward rule and its local derivative can
be read together:

``build(input_shape, ctx)``
    Called once with the per-sample input shape (no batch axis). Declares parameters with
    :meth:`Layer.add_param` and returns the per-sample output shape, raising
    :class:`~nnctl.core.errors.ShapeError` when the input does not fit.
``forward(x, training)``
    Maps a batch ``x`` of shape ``(N, *input_shape)`` to ``(N, *output_shape)``, caching what
    backward needs.
``backward(dy)``
    Given dL/dy, *writes* dL/dθ into ``self.grads[name]`` (overwrite, never accumulate) and returns
    dL/dx, or None when ``need_input_grad`` is False (the first layer does not need it).

Parameters live in one contiguous buffer owned by the model: ``self.params[name]`` and
``self.grads[name]`` are views into it, so an optimizer updates every parameter with a few
whole-buffer NumPy calls. Layers must therefore update parameters and gradients *in place*
(``out=`` or ``[...] =``), never rebind them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..registry import Component, Registry

LAYERS = Registry("layer")

#: most parameters a model may have (float32 parameters, gradients and optimizer state: ~1.6 GB).
MAX_PARAMS = 100_000_000
#: most values one layer may output per sample (its activations for a batch are this × batch size).
MAX_OUTPUT_VALUES = 10_000_000


@dataclass
class ParamSpec:
    """A parameter a layer declares at build time; the model allocates and initializes it."""

    layer: Layer
    name: str
    shape: tuple[int, ...]
    initializer: Any  # an Initializer component
    fan_in: int
    fan_out: int
    regularize: bool  # weights: True; biases, batch-norm and PReLU parameters: False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class BuildContext:
    """What a layer may use while building: the seeded generator, the dtype, model-wide defaults."""

    rng: np.random.Generator
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))
    defaults: dict[str, Any] = field(default_factory=dict)
    #: parameters declared so far by the layers built in this context (checked against MAX_PARAMS).
    n_params: int = 0


class Layer(Component):
    """Base layer: no parameters, identity shape. See the module docstring for the contract."""

    kind = "layer"
    #: False for layers whose gradient is zero everywhere (``step``): training with them must fail.
    differentiable = True
    #: True for layers that behave differently in training and evaluation (dropout, batch norm).
    has_training_mode = False

    def __init__(self) -> None:
        self._setup_state()

    def _setup_state(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.param_specs: list[ParamSpec] = []
        self.input_shape: tuple[int, ...] | None = None
        self.output_shape: tuple[int, ...] | None = None
        self.need_input_grad = True
        self.rng: np.random.Generator | None = None
        self.dtype = np.dtype(np.float32)

    # --- building --------------------------------------------------------------------------------
    def build(self, input_shape: tuple[int, ...], ctx: BuildContext) -> tuple[int, ...]:
        """Record shapes, rng and dtype; subclasses extend this and return the output shape."""
        if not hasattr(self, "params"):
            self._setup_state()
        self.input_shape = tuple(int(d) for d in input_shape)
        self.rng = ctx.rng
        self.dtype = np.dtype(ctx.dtype)
        self._ctx = ctx
        self.param_specs = []
        shape = tuple(int(d) for d in self.compute_output_shape(self.input_shape))
        size = math.prod(shape)
        if size > MAX_OUTPUT_VALUES:
            raise ConfigError(
                f"{self.label()} outputs {size} values per sample (shape {shape}); "
                f"allowed: at most {MAX_OUTPUT_VALUES} per layer"
            )
        self.output_shape = shape
        return self.output_shape

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def add_param(
        self,
        name: str,
        shape: tuple[int, ...],
        initializer: Any,
        *,
        fan_in: int = 1,
        fan_out: int = 1,
        regularize: bool = False,
    ) -> None:
        """Declare a parameter; the model allocates it and places views in params/grads.

        Raises ConfigError when the model would exceed ``MAX_PARAMS`` parameters.
        """
        shape = tuple(int(s) for s in shape)
        ctx = getattr(self, "_ctx", None)
        total = math.prod(shape) + (ctx.n_params if ctx is not None else 0)
        if total > MAX_PARAMS:
            raise ConfigError(
                f"{self.label()}: parameter {name} of shape {shape} brings the model to {total} parameters; "
                f"allowed: at most {MAX_PARAMS}"
            )
        if ctx is not None:
            ctx.n_params = total
        self.param_specs.append(ParamSpec(self, name, shape, initializer, fan_in, fan_out, regularize))

    def children(self) -> list[Layer]:
        """Sub-layers of a container (residual block); empty for plain layers."""
        return []

    def all_param_specs(self) -> list[ParamSpec]:
        specs = list(self.param_specs)
        for child in self.children():
            specs += child.all_param_specs()
        return specs

    @property
    def n_params(self) -> int:
        return sum(s.size for s in self.all_param_specs())

    # --- computing ---------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        return dy if self.need_input_grad else None

    # --- describing --------------------------------------------------------------------------------
    def label(self) -> str:
        """A short human-readable description for model summaries."""
        cfg = self.get_config()
        shown = ",".join(f"{k}={v}" for k, v in cfg.items() if v is not None)
        return f"{self.name}({shown})" if shown else self.name

    def to_config(self) -> dict[str, Any]:
        """A JSON-able dict that :func:`layer_from_config` turns back into an equal layer."""
        cfg: dict[str, Any] = {"type": self.name}
        cfg.update(self.get_config())
        return cfg


def layer_from_config(cfg: dict[str, Any]) -> Layer:
    """Rebuild a layer (or activation) from :meth:`Layer.to_config` output."""
    cfg = dict(cfg)
    cls = LAYERS.lookup(cfg.pop("type"))
    if "layers" in cfg:  # containers hold nested configs
        cfg["layers"] = [layer_from_config(c) for c in cfg["layers"]]
    return cls(**cfg)  # type: ignore[return-value]
