"""Faults around `nnctl train` in real processes: kill -9, Ctrl-C, two runs at once, and results
directories that cannot be written (a file in the way, /proc, a full disk)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import error_line, invoke, one_line_error

from nnctl.results import load_run

LONG = ["--model", "mlp:64", "--epochs", "3000"]  # far longer than any test lets it run
RUN_FILES = ["config.json", "curve.csv", "metrics.csv", "preprocessing.json", "weights.npz"]


def start_train(results: Path, *args: str, preexec_fn=None) -> subprocess.Popen:
    command = [sys.executable, "-m", "nnctl", "train", "--results-dir", str(results), "--quiet", *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
        preexec_fn=preexec_fn,
    )


def wait_for_epochs(results: Path, proc: subprocess.Popen, epochs: int, timeout: float = 40) -> Path:
    """Poll until the run's curve.csv holds epoch ``epochs``; return the run directory."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        for curve in results.glob("*/curve.csv"):
            if len(pd.read_csv(curve)) > epochs:  # a reader never sees half a file
                return curve.parent
        time.sleep(0.02)
    raise AssertionError(f"no epoch {epochs} (exit {proc.poll()}): {proc.communicate()}")


def metrics_of(run: Path) -> dict:
    return pd.read_csv(run / "metrics.csv").iloc[0].to_dict()


def hidden(run: Path) -> list[str]:
    return [p.name for p in run.iterdir() if p.name.startswith(".")]


def status_column(*runs: Path) -> list[str]:
    """The status column of `nnctl compare-runs` (through its --csv export)."""
    csv = runs[0].parent / "compare.csv"
    invoke("compare-runs", *runs, "--csv", csv)
    return pd.read_csv(csv)["status"].tolist()


def test_sigkill_mid_run_leaves_parseable_files_and_an_incomplete_run(tmp_path):
    proc = start_train(tmp_path, *LONG)
    run = wait_for_epochs(tmp_path, proc, 2)
    assert load_run(run).metrics["status"] == "running"  # its process holds the run
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    curve = pd.read_csv(run / "curve.csv")
    assert len(curve) >= 3 and list(curve["epoch"]) == list(range(len(curve)))
    assert curve[["train_loss", "val_loss"]].notna().all().all()
    metrics = metrics_of(run)
    assert metrics["status"] == "running" and metrics["status"] != "completed"
    json.loads((run / "config.json").read_text())
    assert not (run / "weights.npz").exists()
    # readers see a run that stopped without recording how: incomplete, not running, not completed
    assert load_run(run).metrics["status"] == "incomplete"
    assert status_column(run) == ["incomplete"]


def test_sigint_mid_run_ends_cleanly_with_130(tmp_path):
    proc = start_train(tmp_path, *LONG)
    run = wait_for_epochs(tmp_path, proc, 2)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and out.strip() == str(run)
    assert sorted(p.name for p in run.iterdir()) == RUN_FILES  # whole files, no temporaries
    metrics = metrics_of(run)
    curve = pd.read_csv(run / "curve.csv")
    assert metrics["status"] == "interrupted" and "interrupted by the user" in metrics["stop_reason"]
    assert 2 <= metrics["epochs_run"] < 3000 and list(curve["epoch"]) == list(range(metrics["epochs_run"] + 1))
    with np.load(run / "weights.npz", allow_pickle=False) as weights:
        assert sum(weights[k].size for k in weights.files) == metrics["params"]
    assert load_run(run).metrics["status"] == "interrupted" and status_column(run) == ["interrupted"]


def sweep_statuses(results: Path) -> set[str]:
    return {s for csv in results.glob("*/sweep.csv") for s in pd.read_csv(csv)["status"]}


def wait_for_status(results: Path, proc: subprocess.Popen, status: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if status in sweep_statuses(results):
            return
        time.sleep(0.02)
    raise AssertionError(f"no trial {status} (exit {proc.poll()}): {proc.communicate()}")


def test_sigint_during_a_sweep_stops_cleanly_and_resumes(tmp_path):
    """Also: the same sweep started again while it runs is refused and leaves the running one alone."""
    sweep_args = [
        "sweep",
        "grid",
        "--results-dir",
        str(tmp_path),
        "--model",
        "mlp:128",
        "--epochs",
        "60",
        "-p",
        "lr=0.004,0.003,0.002,0.001",
        "-w",
        "1",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nnctl", *sweep_args],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_status(tmp_path, proc, "running")
    second = invoke(*sweep_args, expect=1)
    assert proc.poll() is None, (second.output, proc.poll())
    err = error_line(second)
    assert err.startswith("error: sweep '") and "is being run by another nnctl process" in err
    wait_for_status(tmp_path, proc, "completed")
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group gets it
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err and "interrupted: resume with 'nnctl sweep resume" in err
    [sweep] = [p for p in tmp_path.iterdir() if (p / "sweep.json").is_file()]
    table = pd.read_csv(sweep / "sweep.csv")
    finished = set(table.loc[table["status"] == "completed", "trial_id"])
    assert 1 <= len(finished) < 4 and not (table["status"] == "running").any()
    assert set(table["status"]) <= {"completed", "interrupted", "pending"}
    assert {p.name for p in (sweep / "trials").iterdir()} == finished  # no half-written trial, no temporaries
    kept = {t: (sweep / "trials" / t / "curve.csv").read_bytes() for t in finished}

    invoke("sweep", "resume", sweep, "-w", "2", "-q")
    table = pd.read_csv(sweep / "sweep.csv")
    assert len(table) == 4 and set(table["status"]) == {"completed"}
    assert {t: (sweep / "trials" / t / "curve.csv").read_bytes() for t in finished} == kept


def test_two_runs_at_once_with_the_same_name_never_collide(tmp_path):
    args = ["--model", "mlp:16", "--epochs", "4", "--name", "same"]
    procs = [start_train(tmp_path, *args) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    runs = sorted(tmp_path.iterdir())
    assert len(runs) == 2 and all(r.name.endswith("-same") for r in runs)
    assert sorted(out.strip() for out, _ in outs) == [str(r) for r in runs]
    for run in runs:
        assert sorted(p.name for p in run.iterdir()) == RUN_FILES
        assert json.loads((run / "config.json").read_text())["run_id"] == run.name  # no file of the other run
        assert metrics_of(run)["status"] == "completed" and len(pd.read_csv(run / "curve.csv")) == 5
    a, b = (pd.read_csv(r / "curve.csv").drop(columns=["epoch_seconds", "samples_per_second"]) for r in runs)
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # same seed, same numbers: each run wrote its own


def one_line_failure(results, code, *extra) -> str:
    """Kept: a small train into ``results`` (not --quiet) that must fail with ``code`` in one line."""
    return one_line_error("train", "--results-dir", results, "--epochs", "1", "--model", "mlp:8", *extra, code=code)


def test_results_dir_under_a_regular_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    err = one_line_failure(blocker / "results", 2)
    assert (
        err
        == f"error: cannot create results directory '{blocker / 'results'}': Not a directory; choose another --results-dir"
    )
    err = one_line_failure(blocker, 2)
    assert err == f"error: results directory '{blocker}' is a file, not a directory; choose another --results-dir"
    assert blocker.read_text() == "not a directory\n" and [p.name for p in tmp_path.iterdir()] == ["file"]


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs a /proc filesystem")
def test_results_dir_where_even_root_cannot_create_directories():
    err = one_line_failure("/proc/nnctl-results", 2)
    assert err.startswith("error: cannot create results directory '/proc/nnctl-results': ")
    assert err.endswith("; choose another --results-dir") and not os.path.exists("/proc/nnctl-results")


def file_size_limit(limit: int):
    """preexec_fn: writes beyond ``limit`` bytes fail with EFBIG, as on a full disk."""
    import resource

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_a_full_disk_fails_before_training_starts(tmp_path):
    results = tmp_path / "results"
    proc = start_train(results, "--model", "mlp:8", "--epochs", "1", preexec_fn=file_size_limit(4096))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    assert err.strip() == (
        f"error: cannot write to results directory '{results}': File too large; "
        "free some space or choose another --results-dir"
    )
    assert out == "" and results.is_dir() and not list(results.iterdir())  # no run directory, no probe file


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_a_disk_that_fills_during_the_run_is_a_one_line_failure(tmp_path):
    # weights of mlp:512 on digits take about 150 KiB: the last file written does not fit in 100 KiB
    proc = start_train(tmp_path, "--model", "mlp:512", "--epochs", "2", preexec_fn=file_size_limit(100 * 1024))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    [run] = tmp_path.iterdir()
    assert err.strip() == f"error: cannot write '{run / 'weights.npz'}': File too large"
    assert sorted(p.name for p in run.iterdir()) == [
        "config.json",
        "curve.csv",
        "metrics.csv",
        "preprocessing.json",
    ]  # no temporaries
    assert list(pd.read_csv(run / "curve.csv")["epoch"]) == [0, 1, 2]
    metrics = metrics_of(run)
    assert metrics["status"] == "failed" and "File too large" in metrics["stop_reason"]
    assert load_run(run).metrics["status"] == "failed" and status_column(run) == ["failed"]
