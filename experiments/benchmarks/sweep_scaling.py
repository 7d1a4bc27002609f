"""How a sweep scales with local workers: a 16-trial digits grid with 1 worker, then with 2.

    python experiments/benchmarks/sweep_scaling.py            # 2 workers vs 1 (target ratio <= 0.6)
    python experiments/benchmarks/sweep_scaling.py --workers 4 --epochs 10

Each sweep runs in a fresh temporary results directory, so nothing is resumed; the times include
starting the worker processes. With ``workers`` processes each worker gets ``cores // workers``
BLAS threads (so 1 worker on 2 cores uses 2 BLAS threads): the ratio compares the best use of the
machine by one process with the best use by several.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from nnctl.search import LocalExecutor, build_space, run_sweep
from nnctl.search.executors import available_cores


def timed_sweep(workers: int, epochs: int, model: str) -> tuple[float, str]:
    with tempfile.TemporaryDirectory(prefix="nnctl-bench-") as results:
        space = build_space(
            "grid",
            {
                "name": f"scaling-{workers}",
                "base": {"data": "digits", "model": model, "epochs": epochs, "results_dir": results},
                "params": {
                    "lr": [0.03, 0.01, 0.003, 0.001],
                    "init": ["glorot_normal", "glorot_uniform", "he_normal", "he_uniform"],
                },
            },
        )
        executor = LocalExecutor(workers)
        start = time.perf_counter()
        state = run_sweep(space, executor)
        seconds = time.perf_counter() - start
        assert state.count("completed", "early_stopped") == 16, "every trial should finish"
        return seconds, executor.describe()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default 2)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--model", default="mlp:256,128")
    args = parser.parse_args()
    print(f"16 trials of digits {args.model}, {args.epochs} epochs; {available_cores()} cores available")
    one, label_one = timed_sweep(1, args.epochs, args.model)
    print(f"1 worker   ({label_one}): {one:6.2f} s")
    many, label_many = timed_sweep(args.workers, args.epochs, args.model)
    print(f"{args.workers} workers  ({label_many}): {many:6.2f} s")
    print(f"ratio {args.workers} workers / 1 worker: {many / one:.2f}  (target <= 0.6 for 2 workers on 2 cores)")


if __name__ == "__main__":
    main()
