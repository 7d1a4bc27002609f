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
in ``setup``.

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

import ctypes
import ctypes.util
import math
import platform
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError, TrainingError
from .registry import Component, Registry, check_range

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
            raise ConfigError(
                f"{self.name}: dtype {params.dtype} is not supported; allowed: float32, float64"
            )
        if not 0 <= n_decay <= params.size:
            raise ConfigError(
                f"{self.name}: n_decay={n_decay} is out of range; allowed: 0 <= n_decay <= {params.size}"
            )
        self.t = 0
        self.n_decay = int(n_decay)
        self.size = params.size
        self.state: dict[str, np.ndarray] = {k: np.zeros_like(params) for k in self.state_names()}
        self.scratch = [np.empty_like(params) for _ in range(self.n_scratch())]
        decays = self.coupled_decay and self.weight_decay > 0.0 and self.n_decay > 0
        self._decayed_grad = np.empty_like(params) if decays else None
        bs = self.block_size
        self._blocks = [self._block(lo, min(lo + bs, self.size)) for lo in range(0, self.size, bs)]
        self._init_state()

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
            raise ConfigError(
                f"{self.name}: parameter buffer of size {params.shape[0]}, set up for {self.size}"
            )
        self.t += 1
        lr = self.lr if lr is None else float(lr)
        self._begin_step()
        for block in self._blocks:
            self._update(params[block.span], grads[block.span], lr, block)

    def _begin_step(self) -> None:
        """Hook for scalar state that changes once per step (not once per block)."""

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


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Plain stochastic gradient descent: θ ← θ − lr·(g + λ·θ).

    Default lr 0.01 as in Keras; PyTorch's SGD default is 1e-3 (older versions had none).
    """

    def __init__(self, lr: float = 0.01, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)

    def _update(self, p, g, lr, b):
        _descend(p, lr, self._grad(p, g, b), b.scratch[0])


@OPTIMIZERS.register("momentum")
class Momentum(Optimizer):
    """SGD with momentum in PyTorch's form: b ← μ·b + (1−dampening)·g (b = g at t = 1); θ ← θ − lr·b.

    The lecture notes (and Sutskever et al., Keras) write v ← μ·v − lr·g; θ ← θ + v, which folds the
    learning rate into the velocity. Both give the same steps while lr is constant; when a schedule
    changes lr, PyTorch's form rescales the whole accumulated step at once.
    """

    def __init__(
        self, lr: float = 0.01, momentum: float = 0.9, dampening: float = 0.0, weight_decay: float = 0.0
    ):
        super().__init__(lr, weight_decay)
        self.momentum = momentum
        self.dampening = dampening
        self._check(momentum=momentum, dampening=dampening)

    def state_names(self):
        return ("momentum_buffer",)

    def _momentum(self, g: np.ndarray, blk: Block) -> np.ndarray:
        b = blk.state["momentum_buffer"]
        if self.t == 1:
            np.copyto(b, g)
            return b
        np.multiply(b, self.momentum, out=b)
        if self.dampening:
            tmp = blk.scratch[0]
            np.multiply(g, 1.0 - self.dampening, out=tmp)
            np.add(b, tmp, out=b)
        else:
            np.add(b, g, out=b)
        return b

    def _update(self, p, g, lr, b):
        _descend(p, lr, self._momentum(self._grad(p, g, b), b), b.scratch[0])


@OPTIMIZERS.register("nesterov")
class Nesterov(Momentum):
    """Nesterov momentum in PyTorch's form: b ← μ·b + g (b = g at t = 1); θ ← θ − lr·(g + μ·b).

    This is the "look-ahead" gradient of the lecture notes (m ← β·m − η·∇J(θ + β·m); θ ← θ + m)
    rewritten in terms of the current parameters (Sutskever et al. 2013); Keras writes it as
    θ ← θ + μ·v − lr·g with v the velocity. PyTorch allows no dampening with Nesterov, nor does nnctl.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(lr, momentum, 0.0, weight_decay)

    def _update(self, p, g, lr, blk):
        g = self._grad(p, g, blk)
        b = self._momentum(g, blk)
        tmp = blk.scratch[0]
        np.multiply(b, self.momentum, out=tmp)
        np.add(tmp, g, out=tmp)
        _descend(p, lr, tmp, tmp)


@OPTIMIZERS.register("adagrad")
class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): s ← s + g²; θ ← θ − lr·g/(√s + ε).

    PyTorch defaults: lr 0.01, ε 1e-10 outside the root, accumulator starting at 0. The lecture notes
    put ε inside the root (√(s + ε)); Keras starts the accumulator at 0.1 with ε 1e-7.
    """

    def __init__(
        self, lr: float = 0.01, eps: float = 1e-10, initial_accumulator: float = 0.0, weight_decay: float = 0.0
    ):
        super().__init__(lr, weight_decay)
        self.eps = eps
        self.initial_accumulator = initial_accumulator
        self._check(eps=eps, initial_accumulator=initial_accumulator)

    def state_names(self):
        return ("sum",)

    def _init_state(self):
        self.state["sum"].fill(self.initial_accumulator)

    def _update(self, p, g, lr, b):
        g = self._grad(p, g, b)
        s, tmp = b.state["sum"], b.scratch[0]
        np.multiply(g, g, out=tmp)
        np.add(s, tmp, out=s)
        np.sqrt(s, out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(g, tmp, out=tmp)
        _descend(p, lr, tmp, tmp)


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e): v ← α·v + (1−α)·g²; θ ← θ − lr·g/(√v + ε).

    PyTorch defaults lr 0.01, α 0.99, ε 1e-8 outside the root. ``centered`` divides by the estimated
    standard deviation √(v − ḡ²) with ḡ ← α·ḡ + (1−α)·g; ``momentum`` > 0 accumulates
    b ← μ·b + g/(√v + ε) (b starts at 0) and steps θ ← θ − lr·b. The lecture notes use β = 0.9 and
    ε inside the root (g/√(v + ε)), as Keras does (ρ 0.9, ε 1e-7).
    """

    def __init__(
        self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
        centered: bool = False, weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        self.alpha = alpha
        self.eps = eps
        self.momentum = momentum
        self.centered = centered
        self._check(alpha=alpha, eps=eps, momentum=momentum)

    def state_names(self):
        names = ("square_avg",)
        if self.momentum > 0:
            names += ("momentum_buffer",)
        if self.centered:
            names += ("grad_avg",)
        return names

    def _update(self, p, g, lr, blk):
        g = self._grad(p, g, blk)
        v, tmp = blk.state["square_avg"], blk.scratch[0]
        _ema(v, self.alpha, g, tmp, square=True)
        if self.centered:
            gbar = blk.state["grad_avg"]
            _ema(gbar, self.alpha, g, tmp)
            np.multiply(gbar, gbar, out=tmp)
            np.subtract(v, tmp, out=tmp)
            np.sqrt(tmp, out=tmp)
        else:
            np.sqrt(v, out=tmp)
        np.add(tmp, self.eps, out=tmp)
        np.divide(g, tmp, out=tmp)
        if self.momentum > 0:
            b = blk.state["momentum_buffer"]
            np.multiply(b, self.momentum, out=b)
            np.add(b, tmp, out=b)
            _descend(p, lr, b, tmp)
        else:
            _descend(p, lr, tmp, tmp)


@OPTIMIZERS.register("adadelta")
class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): the step is scaled by the RMS of past steps over the RMS of gradients.

    v ← ρ·v + (1−ρ)·g²;  Δ = √(u + ε)/√(v + ε)·g;  u ← ρ·u + (1−ρ)·Δ²;  θ ← θ − lr·Δ.
    PyTorch defaults lr 1.0 (Zeiler's rule has no learning rate), ρ 0.9, ε 1e-6; Keras uses lr 1e-3
    and ρ 0.95.
    """

    def __init__(self, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.rho = rho
        self.eps = eps
        self._check(rho=rho, eps=eps)

    def state_names(self):
        return ("square_avg", "acc_delta")

    def n_scratch(self):
        return 2

    def _update(self, p, g, lr, b):
        g = self._grad(p, g, b)
        v, u = b.state["square_avg"], b.state["acc_delta"]
        tmp, delta = b.scratch
        _ema(v, self.rho, g, tmp, square=True)
        np.add(v, self.eps, out=tmp)
        np.sqrt(tmp, out=tmp)
        np.add(u, self.eps, out=delta)
        np.sqrt(delta, out=delta)
        np.divide(delta, tmp, out=delta)
        np.multiply(delta, g, out=delta)
        _ema(u, self.rho, delta, tmp, square=True)
        _descend(p, lr, delta, delta)


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with bias correction, as in PyTorch.

    m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  m̂ = m/(1−β1^t);  v̂ = v/(1−β2^t);
    θ ← θ − lr·m̂/(√v̂ + ε).  Defaults lr 1e-3, β (0.9, 0.999), ε 1e-8. The lecture notes' pseudo-code
    has sign slips (m ← β1·m − ..., θ ← θ + ...) and drops t from the corrections; this is the paper.

    The bias corrections are scalars, so the step is computed as
    θ ← θ − (lr·√(1−β2^t)/(1−β1^t))·m/(√v + ε·√(1−β2^t)), algebraically identical to the above and
    one pass over the buffer cheaper. Keras's "epsilon hat" form looks similar but leaves ε
    unscaled (and uses ε 1e-7), so it differs slightly. ``amsgrad`` (Reddi et al. 2018) divides by
    the running maximum of v instead of v.
    """

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
        weight_decay: float = 0.0, amsgrad: bool = False,
    ):
        super().__init__(lr, weight_decay)
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.amsgrad = amsgrad
        self._check(beta1=beta1, beta2=beta2, eps=eps)

    def state_names(self):
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def _moments(self, g: np.ndarray, b: Block) -> tuple[np.ndarray, np.ndarray]:
        """Update the moment estimates m and v in place (seven passes over the block)."""
        m, v, tmp = b.state["exp_avg"], b.state["exp_avg_sq"], b.scratch[0]
        _ema(m, self.beta1, g, tmp)
        _ema(v, self.beta2, g, tmp, square=True)
        return m, v

    def _update(self, p, g, lr, b):
        self._adam(p, self._grad(p, g, b), lr, b)

    def _adam(self, p, g, lr, b):
        m, v = self._moments(g, b)
        if self.amsgrad:
            vmax = b.state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        c2 = math.sqrt(1.0 - self.beta2**self.t)
        step_size = lr * c2 / (1.0 - self.beta1**self.t)
        tmp = b.scratch[0]
        np.sqrt(v, out=tmp)
        np.add(tmp, self.eps * c2, out=tmp)
        np.divide(m, tmp, out=tmp)
        _descend(p, step_size, tmp, tmp)


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): decoupled weight decay θ ← θ − lr·λ·θ, then the Adam step.

    Unlike Adam's ``weight_decay`` (λ·θ added to the gradient, then rescaled by 1/√v̂), the decay here
    shrinks every weight by the same factor. PyTorch default λ 0.01; Keras's ``weight_decay`` is
    decoupled like this on every optimizer.
    """

    coupled_decay = False

    def __init__(
        self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
        weight_decay: float = 0.01, amsgrad: bool = False,
    ):
        super().__init__(lr, beta1, beta2, eps, weight_decay, amsgrad)

    def _update(self, p, g, lr, b):
        n = b.n_decay
        if self.weight_decay and n:
            np.multiply(p[:n], 1.0 - lr * self.weight_decay, out=p[:n])
        self._adam(p, g, lr, b)


@OPTIMIZERS.register("nadam")
class NAdam(Adam):
    """NAdam (Dozat 2016): Adam with a Nesterov look-ahead on the first moment, exactly as PyTorch.

    μ_t = β1·(1 − ½·0.96^(t·ψ)) with ψ = ``momentum_decay``; Π_t = μ_1⋯μ_t;
    m, v as in Adam;  θ ← θ − lr·(1−μ_t)/(1−Π_t)·g/d − lr·μ_{t+1}/(1−Π_t·μ_{t+1})·m/d,
    d = √(v/(1−β2^t)) + ε.  Defaults lr 2e-3, β (0.9, 0.999), ε 1e-8, ψ 4e-3.
    Keras uses u_t = β1·(1 − ½·0.96^(t·0.004)) too, but lr 1e-3 and ε 1e-7.
    """

    def __init__(
        self, lr: float = 0.002, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
        momentum_decay: float = 0.004, weight_decay: float = 0.0,
    ):
        super().__init__(lr, beta1, beta2, eps, weight_decay, False)
        self.momentum_decay = momentum_decay
        self._check(momentum_decay=momentum_decay)

    def n_scratch(self):
        return 2

    def _init_state(self):
        self.mu_product = 1.0

    def state_dict(self):
        return {**super().state_dict(), "mu_product": self.mu_product}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.mu_product = float(state["mu_product"])

    def _begin_step(self):
        self.mu_product *= self._mu(self.t)

    def _mu(self, t: int) -> float:
        return self.beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def _update(self, p, g, lr, b):
        g = self._grad(p, g, b)
        t = self.t
        mu, mu_next = self._mu(t), self._mu(t + 1)
        m, v = self._moments(g, b)
        c2 = math.sqrt(1.0 - self.beta2**t)  # d·c2 = √v + ε·c2: fold the correction into scalars
        c_grad = lr * (1.0 - mu) / (1.0 - self.mu_product) * c2
        c_mom = lr * mu_next / (1.0 - self.mu_product * mu_next) * c2
        num, den = b.scratch
        np.multiply(g, c_grad, out=num)
        np.multiply(m, c_mom, out=den)
        np.add(num, den, out=num)
        np.sqrt(v, out=den)
        np.add(den, self.eps * c2, out=den)
        np.divide(num, den, out=num)
        np.subtract(p, num, out=p)  # the step sizes are already folded into num


# --- denormals ------------------------------------------------------------------------------------

_MXCSR_FTZ_DAZ = 0x8040  # flush-to-zero (bit 15) and denormals-are-zero (bit 6)
_FENV_SIZE = 32  # sizeof(fenv_t) on glibc x86-64
_MXCSR_OFFSET = 28  # the x87 environment takes 28 bytes; the 32-bit MXCSR follows


def flush_denormals(enable: bool = True) -> bool:
    """Set (or clear) the SSE flush-to-zero and denormals-are-zero bits for the calling thread.

    With them set, results and inputs smaller than the smallest normal float (≈1.2e-38 in float32)
    are treated as 0, so decaying optimizer state no longer falls onto the CPU's slow denormal path.
    Only the calling thread changes (threads started later by it inherit the mode; BLAS worker
    threads that already exist do not). Works on x86-64 Linux with glibc through libm's
    ``fegetenv``/``fesetenv``; returns True on success and False (changing nothing) elsewhere or on
    any failure.
    """
    machine = platform.machine().lower()
    if platform.system() != "Linux" or machine not in ("x86_64", "amd64"):
        return False
    try:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        env = (ctypes.c_uint8 * _FENV_SIZE)()
        if libm.fegetenv(ctypes.byref(env)) != 0:
            return False
        mxcsr = ctypes.c_uint32.from_buffer(env, _MXCSR_OFFSET)
        if mxcsr.value & 0xFFFF0000:
            return False  # reserved bits set: not an MXCSR (unexpected layout), change nothing
        wanted = (mxcsr.value | _MXCSR_FTZ_DAZ) if enable else (mxcsr.value & ~_MXCSR_FTZ_DAZ)
        mxcsr.value = wanted
        if libm.fesetenv(ctypes.byref(env)) != 0:
            return False
        check = (ctypes.c_uint8 * _FENV_SIZE)()
        libm.fegetenv(ctypes.byref(check))
        return (ctypes.c_uint32.from_buffer(check, _MXCSR_OFFSET).value & _MXCSR_FTZ_DAZ) == (
            wanted & _MXCSR_FTZ_DAZ
        )
    except (OSError, AttributeError, ValueError, TypeError):
        return False
