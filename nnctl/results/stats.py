"""Welch's t-test without SciPy: the Student t distribution through the regularized incomplete beta.

For two groups of runs (for example two settings, each over several seeds), Welch's t statistic is
t = (x̄₁ − x̄₂)/√(s₁²/n₁ + s₂²/n₂) with the Welch–Satterthwaite degrees of freedom
ν = (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1)); the two-sided p-value is
I_{ν/(ν+t²)}(ν/2, 1/2), the regularized incomplete beta function, computed by its continued fraction.
"""

from __future__ import annotations

import math

import numpy as np

from ..core.errors import ConfigError


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b) by its continued fraction (Numerical Recipes §6.4).

    I_x(a,b) = x^a (1−x)^b / (a·B(a,b)) · 1/(1+ d1/(1+ d2/(1+ …))), evaluated with the modified
    Lentz method; for x above the mean (a+1)/(a+b+2) the symmetry I_x(a,b) = 1 − I_{1−x}(b,a)
    keeps the fraction converging fast.
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc: x={x} is outside [0, 1]")
    if x == 0.0 or x == 1.0:
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x > (a + 1.0) / (a + b + 2.0):
        return 1.0 - betainc(b, a, 1.0 - x)
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return math.exp(log_front) * h / a


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| ≥ |t|) for Student's t with ``df`` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2)."""
    if math.isnan(t) or math.isnan(df):
        return math.nan
    if math.isinf(t):
        return 0.0
    return betainc(df / 2.0, 0.5, df / (df + t * t))


def welch_t_test(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Welch's unequal-variance t-test (two-sided).

    t = (mean_a − mean_b) / √(s_a²/n_a + s_b²/n_b), with Welch–Satterthwaite degrees of freedom
    df = (s_a²/n_a + s_b²/n_b)² / ((s_a²/n_a)²/(n_a−1) + (s_b²/n_b)²/(n_b−1)).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ConfigError(f"welch t-test needs at least 2 values per group; got {len(a)} and {len(b)}")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(a.mean() - b.mean())
    if va + vb == 0.0:  # no spread at all: identical means are not different, distinct ones certainly are
        return {
            "t": math.nan if diff == 0 else math.copysign(math.inf, diff),
            "df": math.nan,
            "p": 1.0 if diff == 0 else 0.0,
        }
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    return {"t": float(t), "df": float(df), "p": t_two_sided_p(t, df)}


# --- exporting -----------------------------------------------------------------------------------
