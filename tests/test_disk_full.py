"""A disk that really fills (ENOSPC on a small tmpfs, not a file-size limit) while nnctl writes.

Mounting a tmpfs needs root (or CAP_SYS_ADMIN); where the test cannot mount one it is skipped and
says why. ``tests/test_faults.py`` covers the same failures with a file-size limit everywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nnctl.results import load_run


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs mounted for the test, unmounted after it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("needs Linux's mount to make a small filesystem")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True, timeout=10
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


def fill(disk: Path) -> None:
    """Write a filler file until the filesystem says it is full."""
    with (disk / "filler").open("wb") as fh:
        try:
            while True:
                fh.write(bytes(1 << 16))
                fh.flush()
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC


def nnctl(*args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nnctl", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "NNCTL_KERNELS": "numpy"},
    )


def test_a_disk_that_fills_mid_run_ends_the_run_in_one_line_with_nothing_half_written(small_disk):
    results = small_disk / "results"
    proc = nnctl("train", "--model", "mlp:64", "--epochs", "5000", "--results-dir", results, "--quiet")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # let a few epochs be recorded, then fill the disk
        curves = list(results.glob("*/curve.csv"))
        if curves and len(curves[0].read_text().splitlines()) >= 4:
            break
        time.sleep(0.01)
    else:
        proc.kill()
        pytest.fail("the run recorded no epochs")
    fill(small_disk)
    out, err = proc.communicate(timeout=120)
    [run] = results.iterdir()
    assert proc.returncode == 1, (out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"error: cannot write '{run}/") and err.strip().endswith("No space left on device")
    # no temporaries; every file that is there is whole and readable
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "curve.csv", "metrics.csv", "preprocessing.json"]
    curve = pd.read_csv(run / "curve.csv")
    assert list(curve["epoch"]) == list(range(len(curve))) and len(curve) >= 3  # header + 3 rows seen
    # the failure is recorded where it can still be written; where it cannot, the run reads back as
    # incomplete (no process holds it), never as completed
    assert load_run(run).metrics["status"] in ("failed", "incomplete")
    (small_disk / "filler").unlink()  # with space again, nnctl works as before
    again = nnctl("train", "--model", "mlp:8", "--epochs", "1", "--results-dir", results, "--quiet")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err


def test_a_report_onto_a_full_disk_is_one_line_and_leaves_no_temporary(small_disk, tmp_path):
    results = tmp_path / "results"
    proc = nnctl("train", "--model", "mlp:8", "--epochs", "2", "--results-dir", results, "--quiet")
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    fill(small_disk)
    report = nnctl("report", "--results-dir", results, "--out", small_disk / "report.html")
    out, err = report.communicate(timeout=120)
    assert report.returncode == 1, (out, err)
    assert err.strip() == f"error: cannot write '{small_disk / 'report.html'}': No space left on device"
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
