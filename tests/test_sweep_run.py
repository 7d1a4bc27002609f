"""Running sweeps: trial directories, resume by identity, failures, SIGINT/SIGKILL, and Dask."""

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import invoke

from nnctl.results import load_run
from nnctl.results.store import TIMING_COLUMNS
from nnctl.search import build_space, expand, run_sweep, worker

SMALL = ["--model", "mlp:16", "--epochs", "2", "-p", "lr=0.01,0.001", "-p", "init=glorot_normal,he_normal"]
VARYING = set(TIMING_COLUMNS) | {"started", "finished", "worker"}


def sweep(tmp_path, *args, expect=0, sub="grid"):
    """Kept: ``nnctl sweep SUB --results-dir TMP_PATH ARGS``, the shape of most calls here."""
    return invoke("sweep", sub, "--results-dir", tmp_path, *args, expect=expect)


def only_sweep(results: Path) -> Path:
    [path] = [p for p in results.iterdir() if (p / "sweep.json").is_file()]
    return path


def stable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c in VARYING])


def snapshot(trials: Path) -> dict[str, tuple[int, bytes]]:
    return {str(f.relative_to(trials)): (f.stat().st_mtime_ns, f.read_bytes()) for f in trials.glob("[!.]*/*")}


def test_sweep_writes_runs_and_resumes_by_identity(tmp_path):
    out = sweep(tmp_path / "a", *SMALL, "--name", "demo", "-w", "2").output
    path = only_sweep(tmp_path / "a")
    assert path.name.startswith("demo-") and "Best by best_val_loss" in out and str(path) in out
    table = pd.read_csv(path / "sweep.csv")
    assert len(table) == 4 and set(table["status"]) == {"completed"}
    assert {"trial_id", "point_id", "lr", "init", "best_val_loss", "test_acc", "wall_seconds"} <= set(table.columns)
    spec = json.loads((path / "sweep.json").read_text())
    assert spec["sweep_id"] == path.name and len(spec["trials"]) == 4
    for trial_id in table["trial_id"]:
        run = path / "trials" / trial_id
        assert sorted(p.name for p in run.iterdir()) == [
            "config.json",
            "curve.csv",
            "metrics.csv",
            "preprocessing.json",
            "weights.npz",
        ]
        record = load_run(run)
        assert record.metrics["status"] == "completed" and list(record.curve["epoch"]) == [0, 1, 2]
        assert record.config["run_id"] == trial_id and record.config["sweep"]["sweep_id"] == path.name

    # a trial's curve is the curve `nnctl train` writes for the same options (timing aside)
    row = table.iloc[0]
    invoke(
        "train",
        "--results-dir",
        tmp_path / "train",
        "--quiet",
        "--model",
        "mlp:16",
        "--epochs",
        "2",
        "--lr",
        row["lr"],
        "--init",
        row["init"],
    )
    [single] = (tmp_path / "train").iterdir()
    assert sorted(p.name for p in single.iterdir()) == sorted(
        p.name for p in (path / "trials" / row["trial_id"]).iterdir()
    )
    pd.testing.assert_frame_equal(
        stable(pd.read_csv(single / "curve.csv")), stable(pd.read_csv(path / "trials" / row["trial_id"] / "curve.csv"))
    )

    # the same command again finds the sweep and runs nothing; resume by id does the same
    before = snapshot(path / "trials")
    again = sweep(tmp_path / "a", *SMALL, "--name", "demo", "-w", "2").output
    assert "4 already done" in again and "4 from earlier runs" in again
    resumed = invoke("sweep", "resume", path.name, "--results-dir", tmp_path / "a", "-q")
    assert resumed.output.strip() == str(path)
    assert snapshot(path / "trials") == before
    pd.testing.assert_frame_equal(stable(pd.read_csv(path / "sweep.csv")), stable(table))

    # one worker or two: the same numbers, file for file
    sweep(tmp_path / "b", *SMALL, "--name", "demo", "-w", "1", "-q")
    other = only_sweep(tmp_path / "b")
    pd.testing.assert_frame_equal(stable(table), stable(pd.read_csv(other / "sweep.csv")))
    for trial_id in table["trial_id"]:
        a, b = (pd.read_csv(p / "trials" / trial_id / "curve.csv") for p in (path, other))
        pd.testing.assert_frame_equal(stable(a), stable(b))
        assert (path / "trials" / trial_id / "weights.npz").read_bytes() == (
            other / "trials" / trial_id / "weights.npz"
        ).read_bytes()


class ThreadExecutor:
    """Runs trials on threads in this process (so a test can patch what a trial does)."""

    slots = 2

    def __init__(self, interrupt_after: int | None = None):
        self.submitted: list[str] = []
        self.interrupt_after = interrupt_after
        self.killed = None

    def start(self, n_tasks):
        self.pool = cf.ThreadPoolExecutor(self.slots)

    def describe(self):
        return "threads"

    def submit(self, task):
        self.submitted.append(task.trial_id)
        return self.pool.submit(worker.run_trial, task)

    def wait(self, futures, timeout):
        if self.interrupt_after is not None and len(self.submitted) > self.interrupt_after:
            raise KeyboardInterrupt
        return cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)[0]

    def outcome(self, future, task):
        return future.result()

    def shutdown(self, kill=False):
        self.killed = kill
        if hasattr(self, "pool"):
            self.pool.shutdown(wait=True)


def small_space(results, **base):
    return build_space(
        "grid",
        {
            "base": {"model": "mlp:16", "epochs": 1, "results_dir": str(results), **base},
            "params": {"lr": [0.5, 0.01, 0.001]},
        },
    )


def test_a_crashing_trial_is_recorded_and_retried_on_request(tmp_path, monkeypatch):
    real_prepare = worker.prepare

    def prepare(cfg):
        if cfg.lr == 0.5:
            raise RuntimeError("boom")
        return real_prepare(cfg)

    monkeypatch.setattr(worker, "prepare", prepare)
    space = small_space(tmp_path)
    state = run_sweep(space, ThreadExecutor())
    table = pd.read_csv(state.path / "sweep.csv").set_index("lr")
    assert table.loc[0.5, "status"] == "failed" and table.loc[0.5, "error"] == "RuntimeError: boom"
    assert list(table.loc[[0.01, 0.001], "status"]) == ["completed", "completed"]
    failed = load_run(state.path / "trials" / table.loc[0.5, "trial_id"])
    assert failed.metrics["status"] == "failed" and "boom" in failed.config["traceback"]

    again = ThreadExecutor()
    assert run_sweep(space, again).count("failed") == 1 and again.submitted == []  # kept, not rerun
    monkeypatch.setattr(worker, "prepare", real_prepare)
    retry = ThreadExecutor()
    state = run_sweep(space, retry, retry_failed=True)
    assert retry.submitted == [table.loc[0.5, "trial_id"]] and state.count("completed") == 3


def test_interrupt_keeps_finished_trials_and_marks_the_rest(tmp_path):
    space = small_space(tmp_path)
    executor = ThreadExecutor(interrupt_after=1)
    state = run_sweep(space, executor)
    assert state.interrupted and executor.killed is True
    statuses = pd.read_csv(state.path / "sweep.csv")["status"].tolist()
    assert "interrupted" in statuses and "running" not in statuses and len(statuses) == 3
    resumed = ThreadExecutor()
    state = run_sweep(space, resumed)
    assert state.count("completed") == 3 and len(resumed.submitted) == 3 - state.skipped


def start_sweep(results: Path, *args) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "nnctl",
        "sweep",
        "grid",
        "--results-dir",
        str(results),
        "--model",
        "mlp:256,256",
        "--epochs",
        "25",
        "-p",
        "lr=0.003,0.002,0.001,0.0005,0.0002,0.0001",
        *args,
    ]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_completed_row(results: Path, proc: subprocess.Popen, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for csv in results.glob("*/sweep.csv"):
            if (pd.read_csv(csv)["status"] == "completed").any():
                return
        time.sleep(0.05)
    raise AssertionError(f"no trial finished (exit {proc.poll()}): {proc.communicate()}")


def test_sigkill_loses_only_in_flight_trials(tmp_path):
    proc = start_sweep(tmp_path, "-w", "1")
    wait_for_completed_row(tmp_path, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    path = only_sweep(tmp_path)
    # nothing is corrupt: every file parses
    json.loads((path / "sweep.json").read_text())
    before = pd.read_csv(path / "sweep.csv")
    assert len(before) == 6 and before["status"].isin(["completed", "running", "pending"]).all()
    done = set(before.loc[before["status"] == "completed", "trial_id"])
    assert 1 <= len(done) < 6  # killed mid-sweep
    for run in (path / "trials").glob("[!.]*"):
        assert load_run(run).metrics["status"] == "completed"
        pd.read_csv(run / "curve.csv")
    assert done <= {p.name for p in (path / "trials").glob("[!.]*")}
    kept = snapshot(path / "trials")

    invoke("sweep", "resume", path, "-w", "2", "-q")
    after = pd.read_csv(path / "sweep.csv")
    assert sorted(after["trial_id"]) == sorted(before["trial_id"]) and after["trial_id"].is_unique
    assert set(after["status"]) == {"completed"}
    now = snapshot(path / "trials")
    assert {k: now[k] for k in kept} == kept  # finished trials were not rerun: same bytes, same mtimes
    assert not list((path / "trials").glob(".*"))  # temporaries of the killed run are gone
    for run in (path / "trials").iterdir():
        pd.read_csv(run / "curve.csv"), pd.read_csv(run / "metrics.csv")


def test_sigint_ends_cleanly_with_130(tmp_path):
    proc = start_sweep(tmp_path, "-w", "1")
    wait_for_completed_row(tmp_path, proc)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "nnctl sweep resume" in err
    statuses = pd.read_csv(only_sweep(tmp_path) / "sweep.csv")["status"]
    assert (statuses == "completed").any() and not (statuses == "running").any()
    assert statuses.isin(["interrupted", "pending"]).any()  # stopped mid-sweep


def test_dask_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    result = sweep(tmp_path, *SMALL, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:1", expect=2)
    assert result.output.strip() == 'error: --executor dask needs Dask; install it with: pip install "nnctl[dask]"'


def test_dask_cluster_gives_the_same_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        sweep(
            tmp_path / "dask",
            *SMALL,
            "--repeats",
            "2",
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "-q",
        )
    sweep(tmp_path / "local", *SMALL, "--repeats", "2", "-w", "2", "-q")
    dask_path, local_path = only_sweep(tmp_path / "dask"), only_sweep(tmp_path / "local")
    assert dask_path.name == local_path.name
    dask_table, local_table = pd.read_csv(dask_path / "sweep.csv"), pd.read_csv(local_path / "sweep.csv")
    assert len(dask_table) == 8 and set(dask_table["status"]) == {"completed"}
    pd.testing.assert_frame_equal(stable(dask_table), stable(local_table))
    for trial_id in dask_table["trial_id"]:
        a, b = (pd.read_csv(p / "trials" / trial_id / "curve.csv") for p in (dask_path, local_path))
        pd.testing.assert_frame_equal(stable(a), stable(b))


def test_expansion_matches_what_ran(tmp_path):
    space = small_space(tmp_path)
    state = run_sweep(space, ThreadExecutor())
    assert [t.trial_id for t in expand(space)] == pd.read_csv(state.path / "sweep.csv")["trial_id"].tolist()
