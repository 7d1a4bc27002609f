"""A tpe sweep killed with SIGKILL and resumed proposes exactly the points an uninterrupted sweep
with the same seed proposes, and never reruns a finished or pruned trial."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from helpers import invoke

pytest.importorskip("optuna")

ARGS = [
    "--model", "mlp:16", "--epochs", "12", "--optimizer", "sgd", "-p", "lr=loguniform:1e-3:1.0",
    "-p", "batch_size=16,32,64", "--trials", "12", "--sweep-seed", "5", "--prune", "asha",
]  # fmt: skip


def sweep_table(results) -> tuple[pd.DataFrame, object]:
    [path] = [p for p in results.iterdir() if (p / "sweep.json").is_file()]
    return pd.read_csv(path / "sweep.csv"), path


def test_a_killed_tpe_sweep_resumes_with_the_same_proposals(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text("batch = 4\nstartup = 4  # the model proposes from the second batch on\n")
    whole = tmp_path / "whole"
    invoke("sweep", "tpe", spec, "--results-dir", whole, *ARGS, "-w", "2", "-q")
    expected, _ = sweep_table(whole)
    assert len(expected) == 12 and expected["lr"].nunique() == 12

    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nnctl",
            "sweep",
            "tpe",
            str(spec),
            "--results-dir",
            str(killed),
            *ARGS,
            "-w",
            "1",
            "-q",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:  # kill -9 once the second batch (proposed by the model after the first) is under way
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            dirs = [p for p in killed.glob("*/trials/*") if not p.name.startswith(".")]
            if len(dirs) >= 6:
                break
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial, path = sweep_table(killed)
    ended = {p.name: (p / "curve.csv").read_bytes() for p in (path / "trials").iterdir() if not p.name.startswith(".")}
    assert 6 <= len(ended) < 12  # (a scratch directory of the trial in flight is cleared by the resume)

    invoke("sweep", "resume", path, "-w", "2", "-q")
    resumed, _ = sweep_table(killed)
    columns = ["trial_id", "lr", "batch_size", "status", "epochs_run", "best_val_loss"]
    pd.testing.assert_frame_equal(resumed[columns], expected[columns])
    # the trials that had ended before the kill were not run again
    assert {t: (path / "trials" / t / "curve.csv").read_bytes() for t in ended} == ended
