"""How much --diagnostics adds to the wall time of the default digits MLP run.

Usage: python experiments/benchmarks/diagnostics_overhead.py [--repeats 7] [--epochs 30]

Runs the default configuration (mlp:128,64 on digits, 30 epochs) alternately with and without
diagnostics, in one process, and prints the median wall times and their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

from nnctl.training import RunConfig, fit, prepare


def wall(diagnostics: bool, epochs: int) -> float:
    run = prepare(RunConfig(epochs=epochs, diagnostics=diagnostics))
    start = time.perf_counter()
    fit(run)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    wall(False, 2), wall(True, 2)  # warm-up
    off, on = [], []
    for _ in range(args.repeats):
        off.append(wall(False, args.epochs))
        on.append(wall(True, args.epochs))
    a, b = statistics.median(off), statistics.median(on)
    print(f"digits mlp:128,64, {args.epochs} epochs, median of {args.repeats}")
    print(f"  without diagnostics: {a:.3f} s")
    print(f"  with diagnostics:    {b:.3f} s")
    print(f"  overhead:            {100 * (b / a - 1):+.1f}%")


if __name__ == "__main__":
    main()
