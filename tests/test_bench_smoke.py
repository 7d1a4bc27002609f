"""The training benchmark runs end to end at tiny sizes and prints its tables (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "experiments" / "benchmarks" / "bench.py"


def test_bench_smoke_prints_tables():
    out = subprocess.run(
        [sys.executable, str(BENCH), "--smoke", "--threads", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "| case | opt | batch | thr | nnctl kernels | nnctl NumPy path |" in text
    for case in ("| mlp | sgd | 32 | 1 |", "| mlp | adam | 32 | 1 |", "| cnn | sgd | 64 | 1 |", "| digits-cnn |"):
        assert case in text
    assert "sgemm 256³" in text
    assert "outside products" in text
    assert "Default `nnctl train`" in text
    assert "traced peak" in text
    assert "products in MKL (PyTorch)" in text or "torch: not installed" in text
    assert "## Targets" in text


def test_pruning_benchmark_smoke_prints_both_wall_times():
    script = BENCH.parent / "pruning.py"
    out = subprocess.run([sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    header = "| case | executor | plain s | asha s | s ratio | plain epochs | asha epochs | epochs ratio |"
    assert header in out.stdout
    [row] = [line for line in out.stdout.splitlines() if line.startswith("| digits")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[2]) > 0 and float(cells[3]) > 0 and int(cells[5]) == 12  # 4 trials × 3 epochs
