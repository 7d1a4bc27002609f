"""Adam and its variants: adam (with amsgrad), adamw (decoupled weight decay), nadam."""

from __future__ import annotations

import math

import numpy as np

from .base import OPTIMIZERS, Block, Optimizer, _descend, _ema


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
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
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

    def _fused(self, k, p, g, lr):
        f, state = p.dtype.type, self.state
        c2 = math.sqrt(1.0 - self.beta2**self.t)
        shrinking = not self.coupled_decay and bool(self.weight_decay) and self.n_decay > 0  # AdamW
        k.adam(
            self._work(p), p, g, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq", p), self.n_decay,
            self.decays, f(self.weight_decay), shrinking, f(1.0 - lr * self.weight_decay), f(self.beta1),
            f(1.0 - self.beta1), f(self.beta2), f(1.0 - self.beta2), f(lr * c2 / (1.0 - self.beta1**self.t)),
            f(self.eps * c2), self.amsgrad, self._tiny,
        )  # fmt: skip
        return True


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): decoupled weight decay θ ← θ − lr·λ·θ, then the Adam step.

    Unlike Adam's ``weight_decay`` (λ·θ added to the gradient, then rescaled by 1/√v̂), the decay here
    shrinks every weight by the same factor. PyTorch default λ 0.01; Keras's ``weight_decay`` is
    decoupled like this on every optimizer.
    """

    coupled_decay = False

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
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
        self,
        lr: float = 0.002,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        momentum_decay: float = 0.004,
        weight_decay: float = 0.0,
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

    def _fused(self, k, p, g, lr):
        f, t = p.dtype.type, self.t
        mu, mu_next = self._mu(t), self._mu(t + 1)
        c2 = math.sqrt(1.0 - self.beta2**t)
        k.nadam(
            self._work(p), p, g, self.state["exp_avg"], self.state["exp_avg_sq"], self.n_decay, self.decays,
            f(self.weight_decay), f(self.beta1), f(1.0 - self.beta1), f(self.beta2), f(1.0 - self.beta2),
            f(lr * (1.0 - mu) / (1.0 - self.mu_product) * c2), f(lr * mu_next / (1.0 - self.mu_product * mu_next) * c2),
            f(self.eps * c2), self._tiny,
        )  # fmt: skip
        return True
