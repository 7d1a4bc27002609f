"""Experiment verdicts weigh the effect against the seed noise (paired t-test over seeds)."""

import math

import numpy as np
import pytest
from scipy import stats

from nnctl.experiments.expect import Expectation, matches
from nnctl.experiments.verdict import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, judge


def lookup_from(rows):
    def lookup(sel):
        out = {}
        for r in rows:
            if matches(r, sel.filters):
                out.setdefault(r["seed"], []).append(r[sel.metric])
        if sel.distinct:
            return {None: [r[sel.metric] for r in rows if matches(r, sel.filters)]}
        return out

    return lookup


def rows(a, b, key="acc"):
    return [{"setting": "a", "seed": s, key: v} for s, v in enumerate(a)] + [
        {"setting": "b", "seed": s, key: v} for s, v in enumerate(b)
    ]


def test_an_effect_much_larger_than_the_noise_is_supported_with_the_paired_t_test():
    a, b = [0.90, 0.92, 0.91, 0.93, 0.90], [0.50, 0.55, 0.52, 0.49, 0.51]
    j = judge(Expectation("acc[setting=a] > acc[setting=b] + 0.3"), lookup_from(rows(a, b)))
    assert j.verdict == SUPPORTED
    (c,) = j.comparisons
    d = np.array(a) - np.array(b) - 0.3
    ref = stats.ttest_rel(np.array(a), np.array(b) + 0.3, alternative="greater")
    assert c.n == 5 and c.test.startswith("paired")
    assert c.t == pytest.approx(ref.statistic, rel=1e-10) and c.p == pytest.approx(ref.pvalue, rel=1e-8)
    assert c.effect == pytest.approx(d.mean()) and c.noise == pytest.approx(d.std(ddof=1) / math.sqrt(5))


def test_an_effect_within_the_seed_noise_is_inconclusive():
    """The regularization-gap case: a 0.03 effect on two seeds that disagree by 0.2."""
    j = judge(Expectation("acc[setting=a] > acc[setting=b]"), lookup_from(rows([0.30, 0.52], [0.47, 0.29])))
    assert j.verdict == INCONCLUSIVE and j.comparisons[0].effect == pytest.approx(0.03)


def test_a_clear_effect_the_wrong_way_is_not_supported():
    j = judge(
        Expectation("acc[setting=a] > acc[setting=b]"),
        lookup_from(rows([0.5, 0.52, 0.51, 0.5], [0.9, 0.91, 0.93, 0.9])),
    )
    assert j.verdict == NOT_SUPPORTED


def test_one_seed_is_inconclusive_and_identical_seeds_are_exact():
    assert (
        judge(Expectation("acc[setting=a] > acc[setting=b]"), lookup_from(rows([0.9], [0.1]))).verdict == INCONCLUSIVE
    )
    exact = judge(Expectation("acc[setting=a] > acc[setting=b]"), lookup_from(rows([0.9, 0.9], [0.1, 0.1])))
    assert exact.verdict == SUPPORTED and exact.comparisons[0].test.startswith("exact")


def test_constant_side_uses_a_one_sample_test_and_and_or_combine():
    data = lookup_from(rows([0.95, 0.96, 0.97], [0.50, 0.70, 0.30]))
    j = judge(Expectation("acc[setting=a] > 0.9 and acc[setting=b] > 0.45"), data)
    assert [c.verdict for c in j.comparisons] == [SUPPORTED, INCONCLUSIVE]
    assert j.verdict == INCONCLUSIVE
    assert judge(Expectation("acc[setting=a] > 0.9 or acc[setting=b] > 0.45"), data).verdict == SUPPORTED
    ref = stats.ttest_1samp([0.95, 0.96, 0.97], 0.9, alternative="greater")
    assert j.comparisons[0].p == pytest.approx(ref.pvalue, rel=1e-8)


def test_sides_without_shared_seeds_use_welch():
    data = [{"setting": "a", "seed": s, "acc": v} for s, v in zip((0, 1, 2), (0.9, 0.91, 0.92))]
    data += [{"setting": "b", "seed": s, "acc": v} for s, v in zip((5, 6, 7), (0.5, 0.6, 0.55))]
    (c,) = judge(Expectation("acc[setting=a] > acc[setting=b]"), lookup_from(data)).comparisons
    ref = stats.ttest_ind([0.9, 0.91, 0.92], [0.5, 0.6, 0.55], equal_var=False, alternative="greater")
    assert c.test.startswith("Welch") and c.p == pytest.approx(ref.pvalue, rel=1e-8) and c.verdict == SUPPORTED


def test_a_selector_written_twice_is_one_term():
    e = Expectation("(acc[x=1] - acc[x=2]) > (acc[x=3] - acc[x=2]) and acc[x=1] > 0")
    assert [s.text() for s in e.selectors] == ["acc[x=1]", "acc[x=2]", "acc[x=3]"]
    assert e.node_text(e.tree[1]) == "acc[x=1] - acc[x=2] > acc[x=3] - acc[x=2]"


def test_counts_on_both_sides_are_compared_exactly():
    data = [{"sweep": "random", "seed": s, "lr": lr} for s in (0, 1) for lr in (0.1, 0.2, 0.3)]
    data += [{"sweep": "grid", "seed": s, "lr": lr} for s in (0, 1) for lr in (0.1, 0.1, 0.2)]
    (c,) = judge(Expectation("distinct(lr)[sweep=random] > distinct(lr)[sweep=grid]"), lookup_from(data)).comparisons
    assert c.verdict == SUPPORTED and c.test.startswith("exact") and c.effect == 1.0
