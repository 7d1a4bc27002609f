"""Optimizers: update rules that turn gradients into parameter steps.

Every optimizer works on the model's ONE flat parameter buffer and its matching gradient buffer.
``setup(params, n_decay)`` allocates the state (momentum, moment estimates, ...) once, flat and of
the same dtype; ``step(params, grads, lr)`` then updates everything with a handful of whole-buffer
NumPy calls (``out=`` and in-place ufuncs on preallocated scratch buffers, no Python loop over
layers). ``step`` never writes to ``grads``.

Cache blocking. An update is a chain of elementwise passes (Adam: about twelve) over buffers of
the model's size, several megabytes each. Run pass by pass over whole buffers, every pass streams
them from main memory again. ``step`` therefore walks the buffers in blocks of ``block_size``
entries (parameters, gradients, state and scratch of one block together fit in a core's L2 cache)
and runs the whole chain on one block before moving to the next: the same arithmetic, in the same
order for each entry, so the numbers are identical, at a fraction of the memory traffic (Adam at
535k parameters: 1.4 ms → 0.5 ms per step on one core). The views of every block are made once,
on the first step that needs them.

Compiled kernels. Where numba is available (nnctl/core/kernels), ``step`` instead runs the whole
update as one loop over the flat buffers (kernels/optim.py): every entry's parameter, gradient and
state are read once and written once, with the same operations in the same order as the chain of
NumPy passes, so the numbers are the same bits. The NumPy chain is the reference the kernels are
tested against, and the path taken when ``NNCTL_KERNELS=numpy``.

Formulas and defaults follow PyTorch (``torch.optim``) so that runs can be checked step for step
against it; the variants taught in the lecture notes and used by Keras are described with each
optimizer. Two differences from PyTorch are deliberate:

* ``weight_decay`` acts only on the weights, ``params[:n_decay]``; biases, batch-norm and PReLU
  parameters follow in the buffer and are not decayed. PyTorch decays *every* parameter unless
  param groups are used; pass ``n_decay=params.size`` to reproduce that.
* ``lr`` can be passed to every ``step`` (a schedule supplies the current rate).

Scalars are kept as Python floats: NumPy 2 multiplies a float32 array by a Python float in float32,
but by an ``np.float64`` scalar in float64, which would silently double the cost of every pass.

Float32 state decays into denormal numbers (weights of dead units stop receiving gradient and their
moments shrink by β every step), which can make steps several times slower; :func:`flush_denormals`
sets the CPU's flush-to-zero mode for the calling thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import kernels
from ..errors import ConfigError, TrainingError
from ..registry import Component, Registry, check_range

OPTIMIZERS = Registry("optimizer")


def _ema(avg: np.ndarray, beta: float, x: np.ndarray, tmp: np.ndarray, square: bool = False) -> None:
    """avg ← β·avg + (1−β)·x (or x² when ``square``), in place, with ``tmp`` as scratch."""
    np.multiply(avg, beta, out=avg)
    if square:
        np.multiply(x, x, out=tmp)
        np.multiply(tmp, 1.0 - beta, out=tmp)
    else:
        np.multiply(x, 1.0 - beta, out=tmp)
    np.add(avg, tmp, out=avg)


def _descend(p: np.ndarray, lr: float, direction: np.ndarray, tmp: np.ndarray) -> None:
    """θ ← θ − lr·direction, in place (``tmp`` may be ``direction`` itself)."""
    np.multiply(direction, lr, out=tmp)
    np.subtract(p, tmp, out=p)


@dataclass
class Block:
    """Views of one cache-sized block of the optimizer's buffers (see "Cache blocking" above)."""

    span: slice  # the block's entries in the flat parameter buffer
    state: dict[str, np.ndarray]  # the block of each state buffer
    scratch: list[np.ndarray]  # the block of each scratch buffer
    decayed: np.ndarray | None  # the block of the decayed-gradient buffer (coupled weight decay)
    n_decay: int  # how many of the block's first entries are weights (decayed)


class Optimizer(Component):
    """Base optimizer: state allocation, the step counter ``t``, coupled weight decay, state I/O."""

    kind = "optimizer"
    #: whether ``weight_decay`` is added to the gradient (L2, "coupled"); AdamW decays θ directly.
    coupled_decay: ClassVar[bool] = True
    #: entries per block; 32768 float32 entries × 5 buffers (Adam) = 640 KiB, inside a 1-2 MiB L2.
    block_size: ClassVar[int] = 1 << 15

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0):
        self.lr = lr
        self.weight_decay = weight_decay
        self._check(lr=lr, weight_decay=weight_decay)

    # --- validation ------------------------------------------------------------------------------
    def _check(self, **values: Any) -> None:
        """Validate the hyperparameters that share a meaning across optimizers."""
        ranges = {
            "lr": dict(low=0),
            "weight_decay": dict(low=0),
            "momentum": dict(low=0, high=1, high_inclusive=False),
            "beta1": dict(low=0, high=1, high_inclusive=False),
            "beta2": dict(low=0, high=1, high_inclusive=False),
            "eps": dict(low=0, low_inclusive=False),
            "rho": dict(low=0, high=1),
            "alpha": dict(low=0, high=1),
            "dampening": dict(low=0, high=1),
            "initial_accumulator": dict(low=0),
            "momentum_decay": dict(low=0),
        }
        for key, value in values.items():
            check_range(self.name, key, value, **ranges[key])

    # --- state -----------------------------------------------------------------------------------
    def state_names(self) -> tuple[str, ...]:
        """Names of the per-parameter state buffers this configuration needs."""
        return ()

    def n_scratch(self) -> int:
        """How many parameter-sized scratch buffers one step needs."""
        return 1

    def setup(self, params: np.ndarray, n_decay: int) -> None:
        """Allocate state for a flat parameter buffer whose first ``n_decay`` entries are weights."""
        if not isinstance(params, np.ndarray) or params.ndim != 1:
            raise ConfigError(f"{self.name}: setup expects one flat 1-D parameter buffer")
        if params.dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ConfigError(f"{self.name}: dtype {params.dtype} is not supported; allowed: float32, float64")
        if not 0 <= n_decay <= params.size:
            raise ConfigError(f"{self.name}: n_decay={n_decay} is out of range; allowed: 0 <= n_decay <= {params.size}")
        self.t = 0
        self.n_decay = int(n_decay)
        self.size = params.size
        self.dtype = params.dtype
        self._tiny = params.dtype.type(np.finfo(params.dtype).tiny)  # below it, kernels flush state to 0
        self.state: dict[str, np.ndarray] = {k: np.zeros_like(params) for k in self.state_names()}
        #: whether the weights' gradient is g + λ·θ (coupled weight decay)
        self.decays = self.coupled_decay and self.weight_decay > 0.0 and self.n_decay > 0
        self.scratch: list[np.ndarray] = []  # the NumPy path's buffers, made when it first runs
        self._decayed_grad = None
        self._blocks: list[Block] | None = None
        self._init_state()

    def _make_blocks(self) -> list[Block]:
        """Scratch buffers and the views of every block, for the NumPy path."""
        self.scratch = [np.empty(self.size, self.dtype) for _ in range(self.n_scratch())]
        self._decayed_grad = np.empty(self.size, self.dtype) if self.decays else None
        bs = self.block_size
        self._blocks = [self._block(lo, min(lo + bs, self.size)) for lo in range(0, self.size, bs)]
        return self._blocks

    def _block(self, lo: int, hi: int) -> Block:
        span = slice(lo, hi)
        decayed = None if self._decayed_grad is None else self._decayed_grad[span]
        return Block(
            span,
            {k: v[span] for k, v in self.state.items()},
            [s[span] for s in self.scratch],
            decayed,
            max(0, min(self.n_decay, hi) - lo),
        )

    def _init_state(self) -> None:
        """Hook for optimizers whose state does not start at zero."""

    def state_dict(self) -> dict[str, Any]:
        """A copy of the step counter and every state buffer (and scalar state)."""
        self._require_setup()
        out: dict[str, Any] = {"t": self.t}
        out.update({k: v.copy() for k, v in self.state.items()})
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`, copying into the existing buffers (no reallocation)."""
        self._require_setup()
        for key, buf in self.state.items():
            if key not in state or np.shape(state[key]) != buf.shape:
                raise ConfigError(f"{self.name}: state entry {key!r} is missing or has the wrong shape")
            np.copyto(buf, state[key])
        self.t = int(state["t"])

    def _require_setup(self) -> None:
        if not hasattr(self, "state"):
            raise TrainingError(f"{self.name}: call setup(params, n_decay) before using the optimizer")

    # --- stepping --------------------------------------------------------------------------------
    def step(self, params: np.ndarray, grads: np.ndarray, lr: float | None = None) -> None:
        """One update of ``params`` in place; ``lr`` (the schedule's current rate) overrides ``self.lr``."""
        if getattr(self, "size", None) != params.shape[0]:
            self._require_setup()
            raise ConfigError(f"{self.name}: parameter buffer of size {params.shape[0]}, set up for {self.size}")
        self.t += 1
        lr = self.lr if lr is None else float(lr)
        self._begin_step()
        ops = kernels.active()
        if ops is not None and _flat_pair(params, grads) and self._fused(ops.optim, params, grads, lr):
            return
        for block in self._blocks or self._make_blocks():
            self._update(params[block.span], grads[block.span], lr, block)

    def _begin_step(self) -> None:
        """Hook for scalar state that changes once per step (not once per block)."""

    def _work(self, p: np.ndarray) -> int:
        """Values one fused update reads or writes: θ twice, g, and each state buffer."""
        return p.size * (3 + len(self.state))

    def _fused(self, k, p: np.ndarray, g: np.ndarray, lr: float) -> bool:
        """The whole update as one compiled pass (module ``k`` = kernels/optim.py); False if this
        optimizer has none, and the NumPy path then runs."""
        return False

    def _update(self, p: np.ndarray, g: np.ndarray, lr: float, b: Block) -> None:
        """Update one block: ``p``/``g`` are its parameters and gradients, ``b`` its state views."""
        raise NotImplementedError

    def _grad(self, p: np.ndarray, g: np.ndarray, b: Block) -> np.ndarray:
        """The gradient with coupled weight decay, g + λ·θ on the weights (into scratch, never into g)."""
        out, n = b.decayed, b.n_decay
        if out is None or n == 0:
            return g
        np.multiply(p[:n], self.weight_decay, out=out[:n])
        np.add(out[:n], g[:n], out=out[:n])
        out[n:] = g[n:]
        return out


def _flat_pair(p: np.ndarray, g: np.ndarray) -> bool:
    """Whether the kernels can take these buffers: contiguous, one dtype (the optimizer's)."""
    return p.flags.c_contiguous and g.flags.c_contiguous and g.dtype == p.dtype and g.shape == p.shape
