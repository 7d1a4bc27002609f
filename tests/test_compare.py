"""compare-runs: finding runs, the differing-keys table, grouping over seeds, Welch's test, exports, errors."""

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from helpers import invoke, make_run

from nnctl.core.errors import ConfigError, DataError
from nnctl.results import write_csv, write_json, write_weights
from nnctl.results.compare import (
    differing_keys,
    load_runs,
    resolve_runs,
    runs_table,
    sort_table,
)
from nnctl.results.grouping import group_table
from nnctl.results.stats import betainc, t_two_sided_p, welch_t_test
from nnctl.results.tables import display_frame, to_markdown


def fake_run(
    path, *, lr=0.1, seed=0, batch_size=32, accs=(0.1, 0.5, 0.8), status="completed", test_acc=0.8, seconds=1.0
):
    """A run directory as RunRecorder writes it, with chosen numbers."""
    path.mkdir(parents=True)
    config = {
        "data": "digits",
        "model": "mlp:16",
        "optimizer": f"sgd:lr={lr},weight_decay=0.0",
        "lr": lr,
        "batch_size": batch_size,
        "seed": seed,
        "epochs": len(accs) - 1,
        "name": path.name,
        "results_dir": str(path.parent),
    }
    write_json(path / "config.json", {"run_id": path.name, "config": config})
    rows = [
        {
            "epoch": e,
            "step": 10 * e,
            "lr": lr,
            "train_loss": 2.0 - a,
            "train_acc": min(1.0, a + 0.05),
            "val_loss": 2.1 - a,
            "val_acc": a,
        }
        for e, a in enumerate(accs)
    ]
    write_csv(path / "curve.csv", rows)
    write_csv(
        path / "metrics.csv",
        [
            {
                "status": status,
                "epochs_run": len(accs) - 1,
                "test_acc": test_acc,
                "test_loss": 0.5,
                "wall_seconds": seconds,
            }
        ],
    )
    write_weights(path / "weights.npz", {"w": np.zeros(2, np.float32)})
    return path


@pytest.fixture
def sweep(tmp_path):
    """results/sweep-x/trials/<id> for lr in (0.1, 0.01) × seeds 0..2, and one plain run beside it."""
    rng = np.random.default_rng(0)
    root = tmp_path / "results"
    base = root / "sweep-x"
    for lr, level in ((0.1, 0.9), (0.01, 0.7)):
        for seed in range(3):
            final = level + rng.normal(0, 0.02)
            fake_run(
                base / "trials" / f"t-{lr}-{seed}",
                lr=lr,
                seed=seed,
                accs=(0.1, final - 0.1, final, final - 0.01),
                test_acc=final - 0.02,
                seconds=1.0 + seed,
            )
    (base / "sweep.csv").write_text("trial\n")
    fake_run(root / "single", lr=0.05, seed=0, accs=(0.1, 0.6))
    return root


def test_resolve_run_ids_dirs_sweeps_and_globs(sweep, monkeypatch):
    assert len(resolve_runs(["sweep-x"], sweep)) == 6
    assert len(resolve_runs([str(sweep / "sweep-x")], sweep)) == 6
    assert resolve_runs(["single"], sweep) == [sweep / "single"]
    assert resolve_runs(["t-0.1-2"], sweep) == [sweep / "sweep-x" / "trials" / "t-0.1-2"]  # a trial by id
    assert len(resolve_runs([str(sweep / "sweep-x" / "trials" / "t-0.01-*")], sweep)) == 3
    assert len(resolve_runs(["sweep-x", "single", "t-0.1-0"], sweep)) == 7  # no duplicates
    monkeypatch.chdir(sweep)
    assert len(resolve_runs(["sweep-x/trials/t-0.1-*"], "elsewhere")) == 3


def test_unknown_run_lists_what_exists(sweep):
    with pytest.raises(DataError, match=r"unknown run or sweep 'nope'; runs and sweeps in .*single, sweep-x"):
        resolve_runs(["nope"], sweep)
    with pytest.raises(DataError, match="does not exist"):
        resolve_runs(["nope"], sweep / "missing")
    (sweep / "empty").mkdir()
    with pytest.raises(DataError, match="holds no runs"):
        resolve_runs(["empty"], sweep)


def test_only_differing_keys_are_shown(sweep):
    records = load_runs(resolve_runs(["sweep-x"], sweep))
    frame, keys = runs_table(records)
    # optimizer varies exactly with lr (its spec carries the rate): shown once, as lr
    assert keys == ["lr", "seed"]
    assert list(frame.columns[:3]) == ["run", "lr", "seed"]
    for common in ("data", "model", "batch_size", "epochs", "optimizer", "name", "results_dir"):
        assert common not in frame.columns
    assert {"best_val_acc", "best_epoch", "final_val_acc", "test_acc", "epochs_run", "status", "seconds"} <= set(
        frame.columns
    )
    row = frame.iloc[0]
    curve = records[0].curve
    assert row["best_val_acc"] == curve["val_acc"].max()
    assert row["best_epoch"] == int(curve["val_acc"].idxmax())
    assert row["final_val_acc"] == curve["val_acc"].iloc[-1]


def test_differing_keys_rules():
    a = {"lr": 0.1, "opt": "sgd:lr=0.1", "seed": 0, "name": "a"}
    b = {"lr": 0.2, "opt": "sgd:lr=0.2", "seed": 0, "name": "b"}
    assert differing_keys([a, b]) == ["lr"]
    assert differing_keys([a, dict(a, seed=1)]) == ["seed"]
    assert differing_keys([a, dict(a, extra=1)]) == ["extra"]


def test_target_and_metric_choice(sweep):
    records = load_runs(resolve_runs(["sweep-x"], sweep))
    frame, _ = runs_table(records, "val_acc", ("val_acc", 0.85))
    col = "epochs_to_val_acc>=0.85"
    reached = frame[col].dropna()
    assert set(frame.loc[frame["lr"] == 0.01, col].isna()) == {True}
    assert set(reached) <= {1, 2}
    frame, _ = runs_table(records, "val_loss")
    assert frame["best_val_loss"].tolist() == [r.curve["val_loss"].min() for r in records]
    assert "test_loss" in frame.columns
    with pytest.raises(DataError, match="unknown metric 'val_ac'; the runs' curves have: .*val_acc"):
        runs_table(records, "val_ac")


def test_sort_and_top(sweep):
    frame, _ = runs_table(load_runs(resolve_runs(["sweep-x"], sweep)))
    best = sort_table(frame, metric="val_acc")
    assert best["best_val_acc"].is_monotonic_decreasing
    fast = sort_table(frame, "seconds", top=2)
    assert len(fast) == 2 and fast["seconds"].tolist() == [1.0, 1.0]
    assert sort_table(frame, "val_acc")["best_val_acc"].is_monotonic_decreasing  # metric name → best_ column
    with pytest.raises(DataError, match="cannot sort by 'speed'; columns: run, lr"):
        sort_table(frame, "speed")
    with pytest.raises(ConfigError, match="top=0"):
        sort_table(frame, top=0)


def test_group_by_seed_matches_pandas(sweep):
    frame, keys = runs_table(load_runs(resolve_runs(["sweep-x"], sweep)))
    grouped = group_table(frame, keys, ["seed"], "val_acc")
    assert grouped.keys == ["lr"] and grouped.note == ""
    expected = frame.groupby("lr")[["best_val_acc", "test_acc", "seconds"]].agg(["mean", "std", "count"])
    g = grouped.frame.set_index("lr")
    for col in ("best_val_acc", "test_acc", "seconds"):
        for lr in (0.1, 0.01):
            assert g.loc[lr, f"{col}_mean"] == pytest.approx(expected.loc[lr, (col, "mean")], rel=1e-12)
            assert g.loc[lr, f"{col}_std"] == pytest.approx(expected.loc[lr, (col, "std")], rel=1e-12)
            assert g.loc[lr, "n"] == expected.loc[lr, (col, "count")] == 3
    assert grouped.frame["lr"].tolist() == [0.1, 0.01]  # best group first
    w = grouped.welch
    assert w["groups"] == ("lr=0.1", "lr=0.01") and w["n"] == (3, 3)
    a = frame.loc[frame["lr"] == 0.1, "best_val_acc"].to_numpy()
    b = frame.loc[frame["lr"] == 0.01, "best_val_acc"].to_numpy()
    assert w["p"] == pytest.approx(welch_t_test(a, b)["p"]) and w["p"] < 0.01
    # grouping by the key itself gives the same groups
    assert group_table(frame, keys, ["lr"], "val_acc").frame["n"].tolist() == [3, 3]
    with pytest.raises(DataError, match="cannot group by 'batch_size'"):
        group_table(frame, keys, ["batch_size"], "val_acc")


def test_group_note_when_other_keys_vary(tmp_path):
    for i, (lr, bs) in enumerate([(0.1, 32), (0.1, 64), (0.01, 32), (0.01, 64)]):
        fake_run(tmp_path / f"r{i}", lr=lr, batch_size=bs, seed=i)
    frame, keys = runs_table(load_runs(resolve_runs([str(tmp_path)], tmp_path)))
    grouped = group_table(frame, keys, ["lr"], "val_acc")
    assert grouped.note == "runs within a group also differ in: batch_size"


def test_betainc_and_welch_match_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    special = pytest.importorskip("scipy.special")
    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 0.5, 0.9), (10.0, 0.5, 0.99), (1.5, 7.0, 0.01), (50.0, 0.5, 0.5)]:
        assert betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-10, abs=1e-14)
    for t, df in [(0.0, 3.0), (2.0, 4.5), (-6.0, 2.2), (1.2, 200.0)]:
        assert t_two_sided_p(t, df) == pytest.approx(2 * scipy_stats.t.sf(abs(t), df), rel=1e-9)
    rng = np.random.default_rng(3)
    for _ in range(10):
        a, b = rng.normal(0, 1, rng.integers(2, 9)), rng.normal(0.5, 2, rng.integers(2, 9))
        ref = scipy_stats.ttest_ind(a, b, equal_var=False)
        got = welch_t_test(a, b)
        assert got["t"] == pytest.approx(ref.statistic, rel=1e-10)
        assert got["p"] == pytest.approx(ref.pvalue, rel=1e-8)


def test_welch_edge_cases():
    assert welch_t_test([1.0, 1.0], [1.0, 1.0])["p"] == 1.0
    assert welch_t_test([1.0, 1.0], [2.0, 2.0])["p"] == 0.0
    with pytest.raises(ConfigError, match="at least 2"):
        welch_t_test([1.0], [1.0, 2.0])
    assert betainc(2.0, 3.0, 0.0) == 0.0 and betainc(2.0, 3.0, 1.0) == 1.0


def test_markdown_table():
    text = to_markdown(pd.DataFrame({"run": ["a|b", "c"], "acc": ["0.9", "0.8 ± 0.1"]}))
    lines = text.strip().splitlines()
    assert lines[0] == "| run | acc |" and lines[1] == "|---|---:|"
    assert lines[2] == "| a\\|b | 0.9 |"


# --- the command ---------------------------------------------------------------------------------


def test_cli_table_sort_top_csv_markdown(sweep, tmp_path):
    res = invoke(
        "compare-runs",
        "sweep-x",
        "--results-dir",
        str(sweep),
        "--sort",
        "best_val_acc",
        "--top",
        "2",
        "--markdown",
        "--csv",
        str(tmp_path / "t.csv"),
        "--target",
        "val_acc=0.85",
    )
    lines = res.output.strip().splitlines()
    assert lines[0].startswith("| run | lr | seed | best_val_acc | best_epoch |")
    assert "epochs_to_val_acc>=0.85" in lines[0]
    assert len(lines) == 4  # header, rule, two rows
    csv = pd.read_csv(tmp_path / "t.csv")
    assert len(csv) == 2 and csv["best_val_acc"].is_monotonic_decreasing
    assert set(csv["lr"]) == {0.1}
    res = invoke("compare-runs", "sweep-x", "single", "--results-dir", sweep)
    assert "7 runs" in res.output and "t-0.1-0" in res.output and "single" in res.output


def test_cli_group_by_and_plot(sweep, tmp_path):
    png = tmp_path / "cmp.png"
    res = invoke("compare-runs", "sweep-x", "--results-dir", sweep, "--group-by", "seed", "--plot", png)
    assert "lr=0.1" in res.output and "±" in res.output
    assert "welch t-test (best_val_acc) between the two best groups 'lr=0.1' (n=3) and 'lr=0.01' (n=3)" in res.output
    import matplotlib.image

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(str(png)).shape[:2]
    assert 300 <= height <= 700 and 500 <= width <= 1500


def test_cli_errors_are_one_line(sweep):
    res = invoke("compare-runs", "nope", "--results-dir", sweep, expect=2)
    assert res.output.strip().splitlines() == [
        f"error: unknown run or sweep 'nope'; runs and sweeps in '{sweep}': single, sweep-x"
    ]
    res = invoke("compare-runs", "sweep-x", "--results-dir", sweep, "--metric", "accuracy", expect=2)
    assert "unknown metric 'accuracy'; the runs' curves have: train_loss" in res.output
    res = invoke("compare-runs", "sweep-x", "--results-dir", sweep, "--sort", "speed", expect=2)
    assert "cannot sort by 'speed'" in res.output
    res = invoke("compare-runs", "sweep-x", "--results-dir", sweep, "--target", "val_acc", expect=2)
    assert "expected METRIC=VALUE" in res.output


def test_cli_on_real_runs(tmp_path):
    for seed in (0, 1):
        make_run(tmp_path, "--seed", seed, epochs=2)
    res = invoke("compare-runs", tmp_path / "*", "--markdown")
    header = res.output.splitlines()[0]
    assert header.startswith("| run | seed | best_val_acc |")
    assert math.isfinite(float(res.output.splitlines()[2].split("|")[3]))


# --- which keys a table shows; names that find sweeps ---------------------------------------------


def test_keys_the_user_set_are_shown_even_when_they_vary_together(tmp_path):
    """sigmoid+N(0,1) against relu+He: both keys were set, both are shown (also in the legend)."""
    make_run(tmp_path, "--activation", "sigmoid", "--init", "normal:std=1")
    make_run(tmp_path, "--activation", "relu", "--init", "he_normal")
    records = load_runs(resolve_runs([str(tmp_path)], tmp_path))
    frame, keys = runs_table(records)
    assert {"activation", "init"} <= set(keys)


def test_a_resolved_spec_that_follows_from_a_set_key_is_not_shown(tmp_path):
    """--lr set: the resolved optimizer spec differs too, but it only repeats the lr column."""
    make_run(tmp_path, "--optimizer", "momentum", "--lr", "0.1")
    make_run(tmp_path, "--optimizer", "momentum", "--lr", "0.01")
    records = load_runs(resolve_runs([str(tmp_path)], tmp_path))
    frame, keys = runs_table(records)
    assert keys == ["lr"]
    make_run(tmp_path, "--optimizer", "sgd", "--lr", "0.05")
    frame, keys = runs_table(load_runs(resolve_runs([str(tmp_path)], tmp_path)))
    assert set(keys) == {"lr", "optimizer"}
    assert set(frame["optimizer"]) == {"momentum", "sgd"}  # as written; the resolved spec is in the CSV
    assert frame["resolved_optimizer"].str.contains(":lr=").all()
    assert "resolved_optimizer" not in display_frame(frame).columns


def test_a_sweep_is_found_by_its_name_and_ambiguity_lists_the_candidates(tmp_path):
    for lrs in ("0.1,0.01", "0.2,0.02"):
        invoke(
            "sweep",
            "grid",
            "--name",
            "my-sweep",
            "--model",
            "mlp:8",
            "--epochs",
            "1",
            "-p",
            f"lr={lrs}",
            "--results-dir",
            str(tmp_path),
            "-q",
            "-w",
            "1",
        )
    res = invoke("compare-runs", "my-sweep", "--results-dir", tmp_path, expect=2)
    assert "sweep name 'my-sweep' matches 2 sweeps: my-sweep-" in res.output
    first = sorted(p.name for p in tmp_path.iterdir())[0]
    shutil.rmtree(tmp_path / first)
    res = invoke("compare-runs", "my-sweep", "--results-dir", tmp_path, terminal_width=200)
    assert "2 runs" in res.output, res.output
