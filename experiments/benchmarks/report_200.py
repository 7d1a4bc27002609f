"""How large is the report of a 200-trial sweep, and how fast does it open in headless Chromium?

Runs (or resumes) a 200-trial digits sweep — 10 learning rates × 5 initializers × 4 seeds, mlp:16,
SGD, 20 epochs — writes ``nnctl report`` of it, and opens the file five times per page in Debian's
headless Chromium (through Playwright), timing from navigation start until the page has drawn and
painted its charts (``window.nnctlPaintedMs``). The pages: the runs table (200 rows, three runs'
curves overlaid), the sweep (parallel coordinates of 200 trials, main effects, the heatmap, 50
points' curves with their seed bands) and one trial.

    python experiments/benchmarks/report_200.py [--results-dir /tmp/report-bench] [--workers 2]

The sweep is kept in --results-dir, so a second run measures the report alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

LRS = "0.3,0.2,0.1,0.05,0.03,0.02,0.01,0.005,0.003,0.001"
INITS = "zeros;normal:std=1;glorot_normal;he_normal;lecun_normal"


def nnctl(*args: str) -> str:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "nnctl", *args], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"nnctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", type=Path, default=Path("/tmp/report-bench"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    args.results_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    sweep = nnctl(
        "sweep",
        "grid",
        "--name",
        "bench200",
        "--model",
        "mlp:16",
        "--optimizer",
        "sgd",
        "--epochs",
        "20",
        "-p",
        f"lr={LRS}",
        "-p",
        f"init={INITS}",
        "--repeats",
        "4",
        "-w",
        str(args.workers),
        "--quiet",
        "--results-dir",
        str(args.results_dir),
    ).splitlines()[-1]
    sweep_seconds = time.perf_counter() - start
    out = args.results_dir / "report.html"
    start = time.perf_counter()
    nnctl("report", sweep, "--results-dir", str(args.results_dir), "--out", str(out), "--force")
    report_seconds = time.perf_counter() - start

    import browser as tooling

    from nnctl.report.model import build_model

    model = build_model([sweep], args.results_dir)
    key = next(iter(model["sweeps"]))
    trial = next(iter(model["runs"]))
    pages = {
        "runs table": "#/runs",
        "sweep": f"#/sweep/{quote(key, safe='')}",
        "one trial": f"#/run/{quote(trial, safe='')}",
    }
    print(f"# report of a {len(model['runs'])}-trial sweep\n")
    print(
        f"sweep: {sweep_seconds:.0f} s (resumed runs skip finished trials); `nnctl report`: {report_seconds:.1f} s "
        f"(process start to exit)"
    )
    print(
        f"report file: {out.stat().st_size / 1e6:.2f} MB ({out.stat().st_size:,} bytes), of which the charting "
        f"library {len(tooling_asset()):,} bytes\n"
    )
    print(
        f"| page | ms to drawn and painted, median of {args.repeats} | min–max | console errors | requests leaving the machine |"
    )
    print("|---|---:|---:|---:|---:|")
    with tooling.browser() as b:
        for name, route in pages.items():
            times, errors, blocked = [], 0, 0
            for _ in range(args.repeats):
                with tooling.open_page(b, out.as_uri() + route) as visit:
                    visit.page.wait_for_timeout(300)
                    times.append(visit.page.evaluate("() => window.nnctlPaintedMs"))
                    errors += len(visit.errors)
                    blocked += len(visit.blocked)
            print(
                f"| {name} | {statistics.median(times):.0f} | {min(times):.0f}–{max(times):.0f} | {errors} | {blocked} |"
            )


def tooling_asset() -> bytes:
    from nnctl.report.html import ECHARTS, asset

    return asset(ECHARTS).encode("utf-8")


if __name__ == "__main__":
    main()
