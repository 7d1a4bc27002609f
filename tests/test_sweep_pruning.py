"""Early termination in real sweeps: fewer epochs for the same best, decisions that do not depend
on workers or on a resume, pruned trials kept as evidence, the audit, and bad input."""

import shutil

import pandas as pd
import pytest
from helpers import invoke, one_line_error

import nnctl
from nnctl.results import load_run
from nnctl.search.pruning import audit_summary

SEARCH = ["-p", "lr=loguniform:1e-4:1.0", "--trials", "24", "--sweep-seed", "3"]


def sweep(tmp_path, name, *args) -> tuple[pd.DataFrame, str]:
    result = invoke("sweep", "random", "--results-dir", tmp_path / name, *args)
    [path] = [p for p in (tmp_path / name).iterdir() if (p / "sweep.json").is_file()]
    return pd.read_csv(path / "sweep.csv"), result.output


def best(table: pd.DataFrame) -> float:
    return table.loc[table["status"].isin(["completed", "early_stopped"]), "best_val_loss"].min()


@pytest.mark.parametrize(
    "data",
    [
        ["--model", "mlp:32", "--epochs", "27", "--optimizer", "sgd"],  # digits, the default dataset
        # MNIST's size: 60,000 samples (two-dimensional spirals, so that epochs stay cheap here)
        [
            "--data",
            "spiral:n=60000,classes=5,noise=0.2",
            "--model",
            "mlp:64,64",
            "--epochs",
            "9",
            "--batch-size",
            "128",
        ],
    ],
    ids=["digits", "60000-samples"],
)
def test_asha_trains_clearly_fewer_epochs_and_finds_the_same_best(tmp_path, data):
    plain, _ = sweep(tmp_path, "plain", *data, *SEARCH, "-w", "2", "-q")
    pruned, _ = sweep(tmp_path, "pruned", *data, *SEARCH, "--prune", "asha", "-w", "2", "-q")
    assert list(pruned["trial_id"]) == list(plain["trial_id"])  # the same 24 points
    assert set(plain["status"]) <= {"completed", "early_stopped"}
    n_pruned = (pruned["status"] == "pruned").sum()
    assert n_pruned >= 8
    epochs_plain, epochs_pruned = plain["epochs_run"].sum(), pruned["epochs_run"].sum()
    assert epochs_pruned <= 0.6 * epochs_plain, (epochs_pruned, epochs_plain)
    # the best unpruned trial of the pruned search is within noise of the plain search's best
    assert best(pruned) <= best(plain) * 1.10 + 1e-3, (best(pruned), best(plain))
    # a pruned trial is a result: its curve ends at its rung, and readers show it
    row = pruned[pruned["status"] == "pruned"].iloc[0]
    run = load_run(next((tmp_path / "pruned").glob(f"*/trials/{row['trial_id']}")))
    assert run.metrics["status"] == "pruned" and "pruned at epoch" in run.metrics["stop_reason"]
    assert len(run.curve) == row["pruned_epoch"] + 1 == row["epochs_run"] + 1


def test_decisions_do_not_depend_on_workers_or_on_a_resume(tmp_path):
    args = ["--model", "mlp:16", "--epochs", "9", "--optimizer", "sgd", "-p", "lr=loguniform:1e-3:1.0"]
    args += ["--trials", "10", "--prune", "halving:bootstrap=2"]
    one, _ = sweep(tmp_path, "one", *args, "-w", "1", "-q")
    two, _ = sweep(tmp_path, "two", *args, "-w", "2", "-q")
    assert (one["status"] == "pruned").sum() >= 3
    columns = ["trial_id", "status", "epochs_run", "best_val_loss"]
    pd.testing.assert_frame_equal(one[columns], two[columns])
    # trials that never ran (their directories gone): a resume decides them exactly as before
    [path] = [p for p in (tmp_path / "two").iterdir() if (p / "sweep.json").is_file()]
    for trial_id in two["trial_id"][3:7]:
        shutil.rmtree(path / "trials" / trial_id)
    invoke("sweep", "resume", path, "-w", "2", "-q")
    pd.testing.assert_frame_equal(pd.read_csv(path / "sweep.csv")[columns], one[columns])


def test_dask_trials_report_their_epochs_and_get_the_same_decisions(tmp_path):
    distributed = pytest.importorskip("distributed")
    args = ["--model", "mlp:16", "--epochs", "9", "--optimizer", "sgd", "-p", "lr=loguniform:1e-3:1.0"]
    args += ["--trials", "10", "--prune", "halving:bootstrap=2", "--audit", "0.5"]
    local, _ = sweep(tmp_path, "local", *args, "-w", "2", "-q")
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        dask, _ = sweep(tmp_path, "dask", *args, "--executor", "dask", "--scheduler", cluster.scheduler_address, "-q")
    columns = ["trial_id", "status", "epochs_run", "best_val_loss", "pruned_epoch", "audited"]
    assert (dask["status"] == "pruned").sum() >= 3 and dask["audited"].any()
    pd.testing.assert_frame_equal(dask[columns], local[columns])


def test_hyperband_brackets_and_compare_runs_show_pruned_trials(tmp_path):
    args = ["--model", "mlp:16", "--epochs", "9", "--optimizer", "sgd", "-p", "lr=loguniform:1e-3:1.0"]
    table, out = sweep(tmp_path, "hb", *args, "--trials", "9", "--prune", "hyperband:min_epochs=1,factor=3", "-w", "2")
    assert "pruned by hyperband" in out and "of them pruned" in out
    assert (table["status"] == "pruned").any()
    [path] = [p for p in (tmp_path / "hb").iterdir() if (p / "sweep.json").is_file()]
    listed = invoke("compare-runs", path, "--csv", tmp_path / "cmp.csv")
    assert listed.exit_code == 0
    shown = pd.read_csv(tmp_path / "cmp.csv")
    assert "pruned" in set(shown["status"])
    runs = nnctl.runs(tmp_path / "hb")
    assert "pruned" in set(runs["status"])


def test_audit_trains_pruned_trials_to_the_end_and_reports_the_error_rate(tmp_path):
    args = ["--model", "mlp:16", "--epochs", "9", "--optimizer", "sgd", "-p", "lr=loguniform:1e-3:1.0"]
    table, out = sweep(tmp_path, "audit", *args, "--trials", "12", "--prune", "asha", "--audit", "1", "-w", "2")
    pruned = table[table["status"] == "pruned"]
    assert len(pruned) >= 3 and pruned["audited"].all()
    assert (pruned["epochs_run"] == 9).all() and (pruned["pruned_epoch"] < 9).all()  # trained on, judged earlier
    summary = audit_summary(table.to_dict("records"), "best_val_loss", higher_better=False)
    assert summary.audited == len(pruned)
    unpruned_best = table.loc[table["status"] == "completed", "best_val_loss"].min()
    assert summary.better == (pruned["best_val_loss"] < unpruned_best).sum()
    assert summary.line() in " ".join(out.split())
    # the report's trials table says which pruned trials were audited, and why each ended
    from nnctl.report.model import build_model

    [sweep_page] = build_model(None, tmp_path / "audit")["sweeps"].values()
    rows = {r["run"]: r for r in sweep_page["table"]["rows"]}
    assert {run for run, r in rows.items() if r["audited"]} == set(pruned["trial_id"])
    assert all("audited: trained on to the end" in rows[t]["stop_reason"] for t in pruned["trial_id"])
    # a fraction picks the same trials every time, by their ids
    again, _ = sweep(tmp_path, "half", *args, "--trials", "12", "--prune", "asha", "--audit", "0.5", "-w", "2", "-q")
    picked = again.loc[again["status"] == "pruned", "audited"]
    assert 0 < picked.sum() < len(picked)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prune", "asha", "--val-split", "0"], "validation"),
        (["--prune", "asha:min_epochs=20", "--epochs", "10"], "epoch"),
        (["--prune", "sha"], "asha"),
        (["--audit", "0.5"], "needs --prune"),
        (["--prune", "asha", "--audit", "1.5"], "audit"),
        (["--prune", "asha", "-p", "epochs=5,10"], "epochs cannot be a sweep axis"),
    ],
)
def test_bad_pruning_input_is_one_line(tmp_path, args, message):
    error = one_line_error(
        "sweep", "random", "--results-dir", tmp_path, "--trials", "2", "-p", "lr=0.1,0.2", "--epochs", "10", *args
    )
    assert message in error
    assert not any(tmp_path.iterdir())  # nothing written


def test_tpe_with_lists_only_is_one_line(tmp_path):
    error = one_line_error("sweep", "tpe", "--results-dir", tmp_path, "--trials", "4", "-p", "lr=0.1,0.2")
    assert "tpe" in error and "range" in error
