"""``compare-runs --effects``: what mattered, checked against pandas group-bys and SciPy's Welch test."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nnctl.results import compare
from nnctl.results.effects import table_effects
from nnctl.results.formatting import mean_std
from tests.helpers import invoke

SCORE = "best_val_acc"


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    results = tmp_path_factory.mktemp("effects")
    invoke(
        "sweep", "grid", "-p", "lr=0.1,0.01,0.001", "-p", "activation=relu,tanh", "--repeats", "3",
        "--model", "mlp:16", "--epochs", "3", "--results-dir", results, "--quiet",
    )  # fmt: skip
    [path] = list(results.iterdir())
    records = compare.load_runs(compare.resolve_runs([str(path)], results))
    frame, keys = compare.runs_table(records, "val_acc")
    return path, results, frame, keys


def test_levels_are_means_over_seeds_as_a_pandas_group_by_gives_them(sweep):
    _, _, frame, keys = sweep
    assert set(keys) == {"lr", "activation", "seed"}
    effects = {e["axis"]: e for e in table_effects(frame, keys, SCORE)}
    data = frame.assign(lr=frame["lr"].astype(float))
    for axis in ("lr", "activation"):
        per_seed = data.groupby([axis, "seed"])[SCORE].mean()  # the other axis averaged out
        expected = per_seed.groupby(level=0).agg(["mean", "std", "count"])
        levels = {lv["level"]: lv for lv in effects[axis]["levels"]}
        assert len(levels) == len(expected)
        for value, row in expected.iterrows():
            lv = levels[f"{value:g}" if axis == "lr" else value]
            assert lv["mean"] == pytest.approx(row["mean"], rel=1e-12)
            assert lv["std"] == pytest.approx(row["std"], rel=1e-12) and lv["n"] == row["count"]
        best = expected["mean"].idxmax()
        for value in expected.index:
            lv = levels[f"{value:g}" if axis == "lr" else value]
            if value == best:
                assert lv["best"] and lv["p"] is None
                continue
            welch = stats.ttest_ind(per_seed.loc[value], per_seed.loc[best], equal_var=False)
            assert lv["p"] == pytest.approx(welch.pvalue, rel=1e-9)


def test_importance_is_the_share_of_variance_the_level_means_explain(sweep):
    _, _, frame, keys = sweep
    effects = table_effects(frame, keys, SCORE)
    scores = frame[SCORE].astype(float)
    total = ((scores - scores.mean()) ** 2).sum()
    for e in effects:
        means = frame.groupby(e["axis"])[SCORE].transform("mean")
        assert e["eta2"] == pytest.approx(((means - scores.mean()) ** 2).sum() / total, rel=1e-12)
    assert [e["eta2"] for e in effects] == sorted((e["eta2"] for e in effects), reverse=True)


def test_the_command_prints_the_ranking_and_each_axis_table(sweep):
    path, results, frame, keys = sweep
    out = invoke("compare-runs", path, "--results-dir", results, "--effects", "--markdown").stdout
    effects = table_effects(frame, keys, SCORE)
    ranking = ", ".join(f"{e['axis']} {e['eta2']:.4g}" for e in effects)
    assert f"What mattered for {SCORE} (share of its variance each option explains, η²): {ranking}" in out
    for e in effects:
        for lv in e["levels"]:
            assert f"| {lv['level']} | {lv['n']} | {mean_std(lv['mean'], lv['std'])} |" in out


def test_a_continuous_axis_is_binned_into_quantiles(tmp_path):
    invoke(
        "sweep", "random", "-p", "lr=loguniform:1e-4:1e-1", "--trials", "16", "--model", "mlp:8",
        "--epochs", "2", "--results-dir", tmp_path, "--quiet",
    )  # fmt: skip
    records = compare.load_runs(compare.resolve_runs([str(tmp_path)], tmp_path))
    frame, keys = compare.runs_table(records, "val_acc")
    [lr] = table_effects(frame, keys, SCORE)
    assert lr["binned"] and len(lr["levels"]) == 4 and sum(lv["n"] for lv in lr["levels"]) == 16
    assert lr["levels"][0]["level"].startswith("[") and lr["levels"][-1]["level"].endswith("]")
    lows = [float(lv["level"][1:].split(",")[0]) for lv in lr["levels"]]
    assert lows == sorted(lows) and np.isfinite(lr["eta2"])


def test_runs_that_differ_in_nothing_say_so(tmp_path):
    for _ in range(2):
        invoke("train", "--model", "mlp:8", "--epochs", "1", "--results-dir", tmp_path, "--quiet")
    out = invoke("compare-runs", *[str(p) for p in tmp_path.iterdir()], "--effects").stdout
    assert "effects: no option differs between these runs" in out
