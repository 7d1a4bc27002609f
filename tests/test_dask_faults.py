"""Faults of a Dask cluster during `nnctl sweep`, in real processes: a scheduler and workers started
with `dask scheduler` / `dask worker` on 127.0.0.1, the sweep run as `python -m nnctl`, and each of
them killed on purpose (no workers at all, every worker gone, the scheduler gone, a worker dying
with its trial). Every process a test starts is killed by the test, and checked gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import one_line_error

SMALL = ["--model", "mlp:16", "--epochs", "2", "-p", "lr=0.01,0.001,0.002"]
# trials long enough (about a second each) that a sweep is still running when a test kills something
LONG = ["--model", "mlp:16", "--epochs", "200", "-p", "lr=0.01,0.001,0.002,0.003,0.004"]
START = 30  # seconds a scheduler, a worker or a sweep may take to start on a loaded machine


class Cluster:
    """The processes one test starts: schedulers, workers and sweeps, each in its own process group."""

    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []

    def _start(self, command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(log, "w") as out:
            proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        proc.log = log
        self.procs.append(proc)
        return proc

    def scheduler(self, **env: str) -> tuple[str, subprocess.Popen]:
        """A scheduler on a free port of 127.0.0.1: its address (from its scheduler file) and process."""
        n = len(self.procs)
        info = self.root / f"scheduler-{n}.json"
        proc = self._start(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            self.root / f"scheduler-{n}.log",
            env,
        )
        deadline = time.monotonic() + START
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                return json.loads(info.read_text())["address"], proc
            except (OSError, ValueError, KeyError):
                time.sleep(0.1)
        raise AssertionError(f"no scheduler started (exit {proc.poll()}): {proc.log.read_text()}")

    def worker(self, address: str) -> subprocess.Popen:
        """One worker process with one thread, no nanny (so a killed worker stays dead)."""
        n = len(self.procs)
        command = [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1"]
        command += ["--nworkers", "1", "--no-nanny", "--no-dashboard"]
        return self._start(command, self.root / f"worker-{n}.log")

    def sweep(self, *args: str) -> subprocess.Popen:
        """``python -m nnctl sweep ARGS``, its stdout and stderr in files (read them with out()/err())."""
        files = (self.root / f"sweep-{len(self.procs)}.out", self.root / f"sweep-{len(self.procs)}.err")
        with open(files[0], "w") as stdout, open(files[1], "w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "nnctl", "sweep", *map(str, args)],
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        proc.files = files
        self.procs.append(proc)
        return proc

    def run(self, *args: str, timeout: float = 60) -> tuple[int, str, str]:
        """A sweep run to its end: (exit code, stdout, stderr)."""
        proc = self.sweep(*args)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"nnctl sweep {args} did not end in {timeout} s: {err(proc)}") from None
        return proc.returncode, out(proc), err(proc)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def close(self) -> None:
        """Kill every process started here, then check that none of them (nor anything they started
        in their process groups) is left."""
        for proc in self.procs:
            self.kill(proc)
        deadline = time.monotonic() + 10
        left = [p.pid for p in self.procs]
        while left and time.monotonic() < deadline:
            left = [pid for pid in left if _group_alive(pid)]
            time.sleep(0.05)
        assert not left, f"processes left running in the groups {left}"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def out(proc: subprocess.Popen) -> str:
    return proc.files[0].read_text()


def err(proc: subprocess.Popen) -> str:
    return proc.files[1].read_text()


@pytest.fixture
def cluster(tmp_path):
    pytest.importorskip("distributed")
    procs = Cluster(tmp_path)
    try:
        yield procs
    finally:
        procs.close()


def only_sweep(results: Path) -> Path:
    [path] = [p for p in results.iterdir() if (p / "sweep.json").is_file()]
    return path


def statuses(results: Path) -> list[str]:
    return [s for csv in results.glob("*/sweep.csv") for s in pd.read_csv(csv)["status"]]


def wait_for(what, proc: subprocess.Popen, timeout: float = 60, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if what():
            return
        time.sleep(0.05)
    raise AssertionError(f"{message} (exit {proc.poll()}): {out(proc)} {err(proc)}")


def finished(path: Path) -> dict[str, tuple[int, bytes]]:
    """The finished trials' files, with their mtimes (a resume must leave them as they are)."""
    return {str(f.relative_to(path)): (f.stat().st_mtime_ns, f.read_bytes()) for f in path.glob("trials/[!.]*/*")}


def test_bad_worker_timeouts_are_one_line_errors(tmp_path):
    common = ["sweep", "grid", "--results-dir", tmp_path, *SMALL]
    dask = ["--executor", "dask", "--scheduler", "tcp://127.0.0.1:1"]
    for value in ("0", "-5", "nan", "inf"):
        line = one_line_error(*common, *dask, "--worker-timeout", value)
        assert line.startswith(f"error: --worker-timeout {value} is not allowed; expected a number of seconds > 0")
    line = one_line_error(*common, *dask, "--worker-timeout", "soon")
    assert "'--worker-timeout'" in line and "soon" in line
    line = one_line_error(*common, "--worker-timeout", "5")
    assert line == "error: --worker-timeout applies to --executor dask only"
    experiment = ["experiment", "run", "zero_init_symmetry", "--fast", "--results-dir", tmp_path]
    line = one_line_error(*experiment, *dask, "--worker-timeout", "0")  # experiments run sweeps too
    assert line.startswith("error: --worker-timeout 0 is not allowed")
    assert not list(tmp_path.iterdir())  # refused before anything was written


def test_no_workers_waits_then_stops_in_one_line_and_resumes(cluster, tmp_path):
    address, _ = cluster.scheduler()
    results = tmp_path / "results"
    started = time.monotonic()
    code, _, stderr = cluster.run(
        "grid", "--results-dir", results, *SMALL, "--executor", "dask", "--scheduler", address, "--worker-timeout", "3"
    )
    took = time.monotonic() - started
    path = only_sweep(results)
    lines = stderr.splitlines()
    assert code == 1 and len(lines) == 2, stderr
    assert lines[0] == (
        f"waiting for Dask workers at {address}: none connected (1 trial in flight, none running); "
        "the sweep stops after --worker-timeout 3 s without one"
    )
    assert lines[1] == (
        f"error: no Dask worker joined the scheduler at {address} within --worker-timeout 3 s; "
        f"0 of 3 trials finished, 1 in flight marked interrupted; resume with 'nnctl sweep resume {path}'"
    )
    assert 3 <= took < 25, took
    assert sorted(statuses(results)) == ["interrupted", "pending", "pending"]
    assert not list((path / "trials").iterdir())

    cluster.worker(address)
    code, stdout, stderr = cluster.run("resume", path, "--executor", "dask", "--scheduler", address, "-q")
    assert code == 0 and stdout.strip() == str(path), stderr
    assert statuses(results) == ["completed"] * 3
    cluster.close()


def test_a_lost_scheduler_is_one_line_and_the_sweep_resumes_on_another(cluster, tmp_path):
    address, scheduler = cluster.scheduler()
    cluster.worker(address)
    results = tmp_path / "results"
    sweep = cluster.sweep("grid", "--results-dir", results, *LONG, "--executor", "dask", "--scheduler", address)
    wait_for(lambda: "completed" in statuses(results) and "running" in statuses(results), sweep, message="no trial")
    path = only_sweep(results)
    cluster.kill(scheduler)
    killed = time.monotonic()
    sweep.wait(timeout=30)
    assert time.monotonic() - killed < 10  # closing the client does not wait out its reconnect timeout
    stderr = err(sweep)
    table = pd.read_csv(path / "sweep.csv")
    done = set(table.loc[table["status"] == "completed", "trial_id"])
    interrupted = int((table["status"] == "interrupted").sum())
    assert sweep.returncode == 1 and len(stderr.splitlines()) == 1, stderr
    assert stderr.strip() == (
        f"error: lost the Dask scheduler at {address}; {len(done)} of 5 trials finished, {interrupted} in flight "
        f"marked interrupted; resume with 'nnctl sweep resume {path}'"
    )
    assert "Traceback" not in stderr + out(sweep) and "distributed" not in stderr + out(sweep)
    assert 1 <= len(done) < 5 and interrupted == 1
    assert set(table["status"]) <= {"completed", "interrupted", "pending"}
    assert {p.name for p in (path / "trials").iterdir()} == done  # whole trials only, no temporaries
    kept = finished(path)

    new_address, _ = cluster.scheduler()
    assert new_address != address
    cluster.worker(new_address)
    code, stdout, stderr = cluster.run("resume", path, "--executor", "dask", "--scheduler", new_address, "-q")
    assert code == 0 and stdout.strip() == str(path), stderr
    assert statuses(results) == ["completed"] * 5
    now = finished(path)
    assert {k: now[k] for k in kept} == kept  # the finished trials were not run again
    cluster.close()


def test_all_workers_gone_waits_and_a_new_worker_finishes_the_sweep(cluster, tmp_path):
    address, _ = cluster.scheduler()
    first = cluster.worker(address)
    results = tmp_path / "results"
    sweep = cluster.sweep("grid", "--results-dir", results, *LONG, "--executor", "dask", "--scheduler", address, "-q")
    wait_for(lambda: "completed" in statuses(results) and "running" in statuses(results), sweep, message="no trial")
    cluster.kill(first)
    wait_for(lambda: "waiting for Dask workers" in err(sweep), sweep, timeout=20, message="no waiting message")
    assert sweep.poll() is None
    cluster.worker(address)
    sweep.wait(timeout=60)
    lines = err(sweep).splitlines()
    assert sweep.returncode == 0, lines
    assert lines[0].startswith(f"waiting for Dask workers at {address}: none connected (1 trial in flight")
    assert lines[1:] == [f"1 Dask worker connected at {address}; the sweep goes on"]
    assert statuses(results) == ["completed"] * 5  # the trial the dead worker ran was run again
    cluster.close()


def test_a_trial_whose_worker_died_is_not_failed_and_reruns_on_resume(cluster, tmp_path):
    # a scheduler that gives up on a task at its first dead worker (KilledWorker), instead of retrying it
    address, _ = cluster.scheduler(DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")
    first = cluster.worker(address)
    results = tmp_path / "results"
    sweep = cluster.sweep("grid", "--results-dir", results, *LONG, "--executor", "dask", "--scheduler", address, "-q")
    wait_for(lambda: "completed" in statuses(results) and "running" in statuses(results), sweep, message="no trial")
    cluster.kill(first)
    wait_for(lambda: "waiting for Dask workers" in err(sweep), sweep, timeout=20, message="no waiting message")
    cluster.worker(address)
    sweep.wait(timeout=60)
    path = only_sweep(results)
    table = pd.read_csv(path / "sweep.csv")
    died = table[table["status"] == "worker_died"]
    assert sweep.returncode == 1 and len(died) == 1, err(sweep)
    assert set(table["status"]) == {"completed", "worker_died"} and "KilledWorker" in died["error"].iloc[0]
    assert err(sweep).splitlines()[-1] == (
        f"1 trial did not finish: the worker process running it died (see the error column of "
        f"{path / 'sweep.csv'}); run it again with 'nnctl sweep resume {path}'"
    )
    kept = {k: v for k, v in finished(path).items() if not k.startswith(f"trials/{died['trial_id'].iloc[0]}/")}

    code, stdout, stderr = cluster.run("resume", path, "--executor", "dask", "--scheduler", address, "-q")
    assert code == 0 and stdout.strip() == str(path), stderr
    assert statuses(results) == ["completed"] * 5  # without --retry-failed: a dead worker is no failed trial
    now = finished(path)
    assert {k: now[k] for k in kept} == kept
    cluster.close()


def test_a_pruned_sweep_whose_worker_dies_decides_as_an_unbroken_one(cluster, tmp_path):
    """Dask reruns the dead worker's trial elsewhere: it reports its epochs from the first again, and
    the sweep's decisions are those of a sweep on local workers."""
    address, _ = cluster.scheduler()
    first, _ = cluster.worker(address), cluster.worker(address)
    args = ["--model", "mlp:16", "--epochs", "81", "-p", "lr=loguniform:1e-3:1.0", "--trials", "8"]
    args += ["--prune", "halving:bootstrap=2", "--sweep-seed", "5"]
    results = tmp_path / "results"
    sweep = cluster.sweep("random", "--results-dir", results, *args, "--executor", "dask", "--scheduler", address, "-q")
    wait_for(lambda: statuses(results).count("running") == 2 and "completed" in statuses(results), sweep, message="")
    cluster.kill(first)  # mid-trial: trials run back to back
    sweep.wait(timeout=120)
    assert sweep.returncode == 0, err(sweep)
    code, _, stderr = cluster.run("random", "--results-dir", tmp_path / "local", *args, "-w", "2", "-q", timeout=120)
    assert code == 0, stderr
    columns = ["trial_id", "status", "epochs_run", "best_val_loss", "pruned_epoch"]
    dask, local = (pd.read_csv(only_sweep(r) / "sweep.csv")[columns] for r in (results, tmp_path / "local"))
    assert (local["status"] == "pruned").sum() >= 2
    pd.testing.assert_frame_equal(dask, local)
    cluster.close()


def test_a_waiting_trial_leaves_its_worker_thread_to_others_and_ends_when_the_sweep_process_goes(cluster, tmp_path):
    from distributed import Client

    from nnctl.search.daskchannel import SweepQueues, run_dask_trial
    from nnctl.search.worker import TrialTask
    from nnctl.training import RunConfig

    address, _ = cluster.scheduler()
    cluster.worker(address)  # one thread
    config = RunConfig.from_dict({"model": "mlp:8", "epochs": 9, "results_dir": str(tmp_path)}).to_dict()
    sweeper = Client(address, timeout=START)
    queues = SweepQueues(sweeper, "sweep")
    queues.open("trial-key")
    task = TrialTask("t0", config, rungs=[1])
    future = sweeper.submit(run_dask_trial, task, queues.name, "trial-key", key="trial-key", pure=False)  # held
    deadline, rows = time.monotonic() + START, []
    while (not rows or rows[-1]["epoch"] < 1) and time.monotonic() < deadline:
        rows += [m["row"] for m in queues.read() if "row" in m]
        time.sleep(0.05)
    assert [r["epoch"] for r in rows] == [0, 1] and future.status == "pending"  # waiting at its rung
    # the one thread runs another task meanwhile (the trial waited for may be queued behind it)
    assert sweeper.submit(int, "7", pure=False).result(timeout=20) == 7
    sweeper.close()  # the sweep process is gone: no decision will come, the scheduler cancels the trial

    def _trials_on_worker(dask_worker) -> list[str]:  # defined here: sent to the worker by value
        busy = ("executing", "long-running", "cancelled")
        return [key for key, task in dask_worker.state.tasks.items() if task.state in busy]

    with Client(address, timeout=START) as other:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(other.run(_trials_on_worker).values()):
            time.sleep(0.1)
        assert not any(other.run(_trials_on_worker).values())  # the trial ended
    cluster.close()
