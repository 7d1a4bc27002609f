"""How long nnctl takes to start, as differences from `python -c "import numpy"` in the same run.

    python experiments/benchmarks/startup.py [--repeats 9]

Each command runs as a fresh process; the figure is the median wall time over the repeats, minus the
median of the baseline (the interpreter and NumPy, which every nnctl command needs). For the default
`nnctl train` the time the run spent in its fit loop (metrics.csv's wall_seconds) is subtracted too,
so what remains is start-up, preparing the run and writing its files. Targets: `nnctl --help` and
`nnctl list` within 0.3 s of the baseline; `nnctl train` within 0.6 s of baseline + training.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NNCTL = [sys.executable, "-c", "import sys; from nnctl.cli.entry import main; sys.argv[0] = 'nnctl'; main()"]
# as an installed program runs: with byte-compiled modules (pip writes them; an environment that
# forbids writing them would measure compiling every module's source at every start instead)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def median_of(cmd: list[str], repeats: int) -> float:
    wall(cmd)  # warm the file cache
    return statistics.median(wall(cmd) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    base = median_of([sys.executable, "-c", "import numpy"], args.repeats)
    rows = [("python -c 'import numpy' (baseline)", base, None, None)]
    for label, extra in (("nnctl --help", ["--help"]), ("nnctl list", ["list"])):
        t = median_of(NNCTL + extra, args.repeats)
        rows.append((label, t, t - base, 0.3))
    results = Path(tempfile.mkdtemp(prefix="nnctl-startup-"))
    try:
        walls, fits = [], []
        for k in range(args.repeats + 1):
            out = results / str(k)
            t = wall(NNCTL + ["train", "--quiet", "--results-dir", str(out)])
            run = next(out.iterdir())
            with open(run / "metrics.csv") as fh:
                fit_seconds = float(next(csv.DictReader(fh))["wall_seconds"])
            if k:  # the first warms the caches (and compiles anything compiled once per machine)
                walls.append(t)
                fits.append(fit_seconds)
        t, fit = statistics.median(walls), statistics.median(fits)
        rows.append((f"nnctl train (default; fit loop {fit:.2f} s)", t, t - base - fit, 0.6))
    finally:
        shutil.rmtree(results, ignore_errors=True)
    print(f"# start-up, median of {args.repeats} runs\n")
    print("| command | wall s | beyond the baseline s | target | |")
    print("|---|---:|---:|---:|---|")
    for label, t, over, target in rows:
        if over is None:
            print(f"| {label} | {t:.3f} | | | |")
        else:
            print(f"| {label} | {t:.3f} | {over:+.3f} | ≤ {target} | {'met' if over <= target else 'MISSED'} |")


if __name__ == "__main__":
    main()
