"""Judging an expectation against its seed noise: SUPPORTED, NOT SUPPORTED or INCONCLUSIVE.

A mean that favours the claim says little when the seeds disagree with each other by more than
the effect. So every comparison ``left > right`` of an expectation is judged per seed: each side
is evaluated once for each seed that all its selectors share (a seed fixes the data split and the
initialization streams, so seed s of one setting is matched with seed s of the other), giving n
differences dᵢ = leftᵢ − rightᵢ. The paired t-test asks whether their mean differs from zero by
more than their spread allows:

    t = d̄ / (s_d/√n),   df = n − 1,   one-sided p = P(T ≥ t)

- **SUPPORTED**: the comparison holds in the mean and p < α (α = 0.05);
- **NOT SUPPORTED**: it fails in the mean and the opposite one-sided p < α: the data contradict it;
- **INCONCLUSIVE**: the difference is within the seed noise (or n < 2: the noise is unknown).

When one side is a constant (``val_acc[...] > 0.9``) the same test runs on the other side's
values. When the sides share no seed, Welch's unequal-variance t-test compares the two samples.
When every seed gives the same difference (a deterministic experiment), the comparison holds or
fails exactly. ``and`` takes the weakest verdict of its parts, ``or`` the strongest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..results.stats import t_two_sided_p, welch_t_test
from .expect import AGGREGATES, COMPARISONS, Expectation

ALPHA = 0.05
SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "SUPPORTED", "NOT SUPPORTED", "INCONCLUSIVE"
_RANK = {NOT_SUPPORTED: 0, INCONCLUSIVE: 1, SUPPORTED: 2}

#: values per seed for one selector: {seed: [values of the matching trials with that seed]};
#: the key None holds values that do not vary with the seed (distinct counts)
SeedValues = dict[Any, list[float]]


@dataclass
class Comparison:
    """One comparison of an expectation, judged: the numbers a report shows."""

    text: str
    op: str
    left: list[float]
    right: list[float]
    verdict: str
    effect: float  # mean(left) − mean(right)
    noise: float  # standard error of that difference
    n: int  # seeds (pairs), or the smaller sample for Welch
    test: str
    holds: bool = False  # the comparison holds in the means
    t: float = math.nan
    df: float = math.nan
    p: float = math.nan
    seeds: list[Any] = field(default_factory=list)

    def summary(self) -> str:
        p = "" if math.isnan(self.p) else f", p={self.p:.3g}"
        return (
            f"{self.verdict}: {self.text}: effect {self.effect:+.4g} ± {self.noise:.2g} (standard error), "
            f"n={self.n}, {self.test}{p}"
        )


@dataclass
class Judgement:
    verdict: str
    comparisons: list[Comparison]

    @property
    def effect(self) -> float | None:
        return self.comparisons[0].effect if self.comparisons else None


def judge(expectation: Expectation, lookup: Callable[[Any], SeedValues], alpha: float = ALPHA) -> Judgement:
    """Judge ``expectation`` with ``lookup(selector) -> {seed: values}`` for each of its selectors."""
    data = [lookup(sel) for sel in expectation.selectors]
    comparisons: list[Comparison] = []

    def walk(node) -> str:
        if node[0] in ("and", "or"):
            a, b = walk(node[1]), walk(node[2])
            pick = min if node[0] == "and" else max
            return pick(a, b, key=_RANK.__getitem__)
        comparison = _compare(expectation, node, data, alpha)
        comparisons.append(comparison)
        return comparison.verdict

    verdict = walk(expectation.tree)
    return Judgement(verdict, comparisons)


def _selectors_in(node) -> set[int]:
    if node[0] == "sel":
        return {node[1]}
    if node[0] == "num":
        return set()
    return set().union(*(_selectors_in(child) for child in node[1:] if isinstance(child, tuple)))


def _side(expectation: Expectation, node, data: list[SeedValues], seeds: list[Any]) -> list[float]:
    """The side's value for each seed (pooled over all seeds when ``seeds`` is empty)."""
    used = _selectors_in(node)
    if not used or all(set(data[i]) == {None} for i in used):
        return [float(expectation.evaluate_node(node, {i: _pooled(expectation, i, data[i]) for i in used}))]
    out = []
    for seed in seeds or [None]:
        values = {}
        for i in used:
            if seed is None or None in data[i]:
                values[i] = _pooled(expectation, i, data[i])
            else:
                values[i] = AGGREGATES[expectation.selectors[i].aggregate](np.asarray(data[i][seed], dtype=float))
        out.append(float(expectation.evaluate_node(node, values)))
    return out


def _pooled(expectation: Expectation, i: int, values: SeedValues) -> float:
    sel = expectation.selectors[i]
    everything = [v for vs in values.values() for v in vs]
    if sel.distinct:
        return float(len({str(v) for v in everything}))
    return AGGREGATES[sel.aggregate](np.asarray(everything, dtype=float))


def _varies(node, data: list[SeedValues]) -> bool:
    """Whether a side has a selector whose values come from trials (and so vary with the seed)."""
    return any(set(data[i]) != {None} for i in _selectors_in(node))


def _common_seeds(node, data: list[SeedValues]) -> list[Any]:
    sets = [set(data[i]) - {None} for i in _selectors_in(node) if set(data[i]) != {None}]
    return sorted(set.intersection(*sets), key=str) if sets else []


def _compare(expectation: Expectation, node, data: list[SeedValues], alpha: float) -> Comparison:
    _, op, left_node, right_node = node
    text = f"{expectation.node_text(left_node)} {op} {expectation.node_text(right_node)}"
    seeds = _common_seeds(node, data)
    left_seeds, right_seeds = (
        (seeds, seeds) if seeds else (_common_seeds(left_node, data), _common_seeds(right_node, data))
    )
    left = _side(expectation, left_node, data, left_seeds)
    right = _side(expectation, right_node, data, right_seeds)
    effect = float(np.mean(left) - np.mean(right))
    holds = bool(COMPARISONS[op](float(np.mean(left)), float(np.mean(right))))
    sign = {">": 1.0, ">=": 1.0, "<": -1.0, "<=": -1.0}.get(op)
    base = dict(text=text, op=op, left=left, right=right, effect=effect, seeds=seeds, holds=holds)
    if sign is None or any(math.isnan(v) for v in left + right):  # == / != or missing values
        why = "equality: no test" if sign is None else "a value is missing"
        return Comparison(
            verdict=SUPPORTED if holds and sign is None else INCONCLUSIVE,
            noise=math.nan,
            n=max(len(left), len(right)),
            test=why,
            **base,
        )
    if not _varies(left_node, data) and not _varies(right_node, data):  # counts and numbers only
        return Comparison(
            verdict=SUPPORTED if holds else NOT_SUPPORTED,
            noise=0.0,
            n=1,
            test="exact: neither side depends on the seed",
            **base,
        )
    paired = bool(seeds) and len(left) == len(right) > 1
    if paired or len(left) == 1 or len(right) == 1:
        d = (
            (np.asarray(left) - np.asarray(right))
            if paired
            else (np.asarray(left) - right[0] if len(right) == 1 else left[0] - np.asarray(right))
        )
        n = len(d)
        test = "paired t-test over seeds" if paired else "one-sample t-test against the constant side"
        if n < 2:
            return Comparison(
                verdict=INCONCLUSIVE,
                noise=math.nan,
                n=n,
                test="one value per side: the seed noise is unknown (run more seeds)",
                **base,
            )
        sd = float(np.std(d, ddof=1))
        se = sd / math.sqrt(n)
        if sd == 0.0:  # every seed gives the same difference: nothing to test
            return Comparison(
                verdict=SUPPORTED if holds else NOT_SUPPORTED,
                noise=0.0,
                n=n,
                test="exact: the same difference for every seed",
                **base,
            )
        t, df = float(np.mean(d)) / se, float(n - 1)
    else:
        stats = welch_t_test(np.asarray(left), np.asarray(right))
        t, df = stats["t"], stats["df"]
        se = math.sqrt(np.var(left, ddof=1) / len(left) + np.var(right, ddof=1) / len(right))
        n, test = min(len(left), len(right)), "Welch t-test (the sides share no seed)"
        if se == 0.0:
            return Comparison(
                verdict=SUPPORTED if holds else NOT_SUPPORTED,
                noise=0.0,
                n=n,
                test="exact: no spread on either side",
                **base,
            )
    p_for = _one_sided(sign * t, df)  # P(T ≥ t) in the claimed direction
    p_against = _one_sided(-sign * t, df)
    if holds and p_for < alpha:
        verdict = SUPPORTED
    elif not holds and p_against < alpha:
        verdict = NOT_SUPPORTED
    else:
        verdict = INCONCLUSIVE
    p = p_for if holds else p_against
    return Comparison(verdict=verdict, noise=se, n=n, test=test, t=t, df=df, p=p, **base)


def _one_sided(t: float, df: float) -> float:
    """P(T ≥ t) for Student's t with ``df`` degrees of freedom."""
    two = t_two_sided_p(t, df)
    return two / 2.0 if t > 0 else 1.0 - two / 2.0
