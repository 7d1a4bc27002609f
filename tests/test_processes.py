"""Processes and signals, in real processes: the sweep process killed (no orphans), SIGTERM and
SIGHUP stopping `train` and `sweep` like Ctrl-C, and a sweep's worker killed under its trial."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import invoke

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table in /proc")


def start(*args: str) -> subprocess.Popen:
    """`nnctl ARGS` in a session of its own: every process it starts shares the session id."""
    return subprocess.Popen(
        [sys.executable, "-m", "nnctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _stat(pid: str) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # state, ppid, pgrp, session, ...


def session(sid: int) -> dict[int, int]:
    """The live processes of session ``sid`` (zombies aside), as {pid: parent pid}."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat(entry)
            if fields and int(fields[3]) == sid and fields[0] != "Z":
                out[int(entry)] = int(fields[1])
    return out


def workers(sid: int) -> list[int]:
    """The sweep's worker processes: the children of its fork server."""
    procs = session(sid)
    servers = [p for p, parent in procs.items() if parent == sid and b"forkserver" in _cmdline(p)]
    return sorted(p for p, parent in procs.items() if parent in servers)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_until(condition, proc: subprocess.Popen | None = None, timeout: float = 40, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the command ended first ({proc.returncode}): {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def statuses(results: Path) -> list[str]:
    return [s for csv in results.glob("*/sweep.csv") for s in pd.read_csv(csv)["status"]]


def sweep_dir(results: Path) -> Path:
    [path] = [p for p in results.iterdir() if (p / "sweep.json").is_file()]
    return path


def no_process_left(sid: int, timeout: float = 10) -> None:
    wait_until(lambda: not session(sid), timeout=timeout, what=f"processes of the sweep still running: {session(sid)}")


def sweep_args(results: Path, workers: int = 2, epochs: int = 400, lrs: str = "0.004,0.003,0.002,0.001") -> list[str]:
    return [
        "sweep", "grid", "--results-dir", str(results), "--model", "mlp:64", "--epochs", str(epochs),
        "-p", f"lr={lrs}", "-w", str(workers),
    ]  # fmt: skip


def test_killing_the_sweep_process_leaves_no_worker_fork_server_or_tracker(tmp_path):
    proc = start(*sweep_args(tmp_path))
    try:
        wait_until(lambda: len(workers(proc.pid)) == 2, proc, what="two workers")
        assert len(session(proc.pid)) >= 4  # the sweep, its fork server, two workers (and a tracker)
        os.kill(proc.pid, signal.SIGKILL)  # the sweep process alone: its workers are not signalled
        proc.communicate(timeout=10)
        no_process_left(proc.pid)
    finally:
        if session(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_a_sweep_like_ctrl_c(tmp_path, signum):
    proc = start(*sweep_args(tmp_path, lrs="0.004,0.003,0.002,0.001,0.0005"))
    try:
        wait_until(lambda: "running" in statuses(tmp_path) and len(workers(proc.pid)) == 2, proc, what="running")
        os.kill(proc.pid, signum)  # as a batch scheduler or a closed terminal sends it
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 128 + signum, (out, err)
        assert "Traceback" not in err and "interrupted: resume with 'nnctl sweep resume" in err
        table = pd.read_csv(sweep_dir(tmp_path) / "sweep.csv")
        assert "interrupted" in set(table["status"]) and not (table["status"] == "running").any()
        no_process_left(proc.pid)
    finally:
        if session(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_train_like_ctrl_c(tmp_path, signum):
    proc = start("train", "--results-dir", str(tmp_path), "--quiet", "--model", "mlp:64", "--epochs", "3000")
    try:
        curve = wait_until(lambda: next(iter(tmp_path.glob("*/curve.csv")), None), proc, what="a curve")
        wait_until(lambda: len(pd.read_csv(curve)) > 2, proc, what="two epochs")
        os.kill(proc.pid, signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, (out, err)
    assert "Traceback" not in err and err.strip() == "" and out.strip() == str(curve.parent)
    metrics = pd.read_csv(curve.parent / "metrics.csv").iloc[0]
    name = signal.Signals(signum).name
    assert metrics["status"] == "interrupted" and f"interrupted by {name}" in metrics["stop_reason"]
    with np.load(curve.parent / "weights.npz", allow_pickle=False) as weights:  # the best epoch's weights
        assert sum(weights[k].size for k in weights.files) == metrics["params"]


def test_a_killed_worker_costs_only_its_own_trial(tmp_path):
    proc = start(*sweep_args(tmp_path, epochs=150))
    try:
        pids = wait_until(lambda: len(workers(proc.pid)) == 2 and workers(proc.pid), proc, what="two workers")
        wait_until(lambda: statuses(tmp_path).count("running") == 2, proc, what="two trials running")
        os.kill(pids[0], signal.SIGKILL)  # the OOM killer, or kill -9
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, (out, err)
    table = pd.read_csv(sweep_dir(tmp_path) / "sweep.csv")
    assert list(table["status"]) == ["completed"] * 4  # the other worker's trial too; nothing failed
    no_process_left(proc.pid)


def test_a_trial_whose_worker_keeps_dying_is_recorded_as_such_and_resume_runs_it(tmp_path):
    proc = start(*sweep_args(tmp_path, workers=1, epochs=600, lrs="0.001"))
    try:
        killed: set[int] = set()
        for _ in range(3):  # the first run and its two requeues
            pid = wait_until(lambda: [p for p in workers(proc.pid) if p not in killed], proc, what="a fresh worker")[0]
            wait_until(lambda: statuses(tmp_path) == ["running"], proc, what="the trial running")
            os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err and "the worker process running it died" in err and "nnctl sweep resume" in err
    path = sweep_dir(tmp_path)
    table = pd.read_csv(path / "sweep.csv")
    assert list(table["status"]) == ["worker_died"] and "killed by signal 9" in table.loc[0, "error"]
    no_process_left(proc.pid)
    invoke("sweep", "resume", path, "-q")  # a plain resume runs it again
    assert list(pd.read_csv(path / "sweep.csv")["status"]) == ["completed"]
