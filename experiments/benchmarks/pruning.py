"""What early stopping of bad trials saves: the same random search with and without --prune asha.

    python experiments/benchmarks/pruning.py                 # digits and 60,000 samples, 2 workers
    python experiments/benchmarks/pruning.py --dask          # the same on a local Dask cluster
    python experiments/benchmarks/pruning.py --smoke         # tiny sizes: checks the script runs

For each case the 24-trial random search over lr = loguniform(1e-4, 1) (sweep seed 3) runs
without pruning, then with ``--prune asha`` (rungs at epochs 1, 3, 9, …; at each, a trial goes on
only among the best third of the trials there before it), each in a fresh temporary results
directory, after a tiny warm-up sweep (which starts the fork server or the Dask workers' imports
once for all). It prints the wall time (worker start included), the epochs trained in all, the best
validation loss among the trials trained to the end, and the pruned/plain ratios. The two
sweeps of a case run one after the other in one process, so the ratio is fair on a busy machine;
the absolute times are not.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time

from nnctl.search import DaskExecutor, LocalExecutor, build_space, run_sweep
from nnctl.search.executors import available_cores

CASES = {
    "digits mlp:32, 27 epochs, sgd": {"data": "digits", "model": "mlp:32", "epochs": 27, "optimizer": "sgd"},
    "spiral n=60000 mlp:64,64, 9 epochs": {
        "data": "spiral:n=60000,classes=5,noise=0.2",
        "model": "mlp:64,64",
        "epochs": 9,
        "batch_size": 128,
    },
}
SMOKE = {"digits mlp:8, 3 epochs": {"data": "digits", "model": "mlp:8", "epochs": 3}}


def timed_sweep(base: dict, trials: int, prune: str | None, make_executor) -> dict:
    """One sweep in a fresh results directory: its wall time, epochs trained and best result."""
    with tempfile.TemporaryDirectory(prefix="nnctl-bench-") as results:
        spec = {
            "base": {**base, "results_dir": results},
            "params": {"lr": "loguniform:1e-4:1.0"},
            "trials": trials,
            "sweep_seed": 3,
        }
        if prune:
            spec["prune"] = prune
        space = build_space("random", spec)
        executor = make_executor()
        start = time.perf_counter()
        state = run_sweep(space, executor)
        seconds = time.perf_counter() - start
        rows = list(state.rows.values())
        best = state.best()
        return {
            "seconds": seconds,
            "epochs": sum(int(r.get("epochs_run") or 0) for r in rows),
            "pruned": sum(r["status"] == "pruned" for r in rows),
            "best": best["best_val_loss"] if best else float("nan"),
        }


@contextlib.contextmanager
def executors(workers: int, dask: bool):
    """A factory of fresh executors: local worker processes, or a local Dask cluster's."""
    if not dask:
        yield lambda: LocalExecutor(workers)
        return
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        yield lambda: DaskExecutor(cluster.scheduler_address)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--dask", action="store_true", help="run the trials on a local Dask cluster")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check that the script runs")
    args = parser.parse_args()
    cases, trials = (SMOKE, 4) if args.smoke else (CASES, args.trials)
    print(f"{trials}-trial random search, lr loguniform:1e-4:1, sweep seed 3; {available_cores()} cores available")
    print()
    print("| case | executor | plain s | asha s | s ratio | plain epochs | asha epochs | epochs ratio | pruned |"
          " best plain | best asha |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    label = f"{args.workers} {'Dask' if args.dask else 'local'} workers"
    with executors(args.workers, args.dask) as make:
        timed_sweep({"data": "digits", "model": "mlp:8", "epochs": 1}, 2, None, make)  # warm-up
        for name, base in cases.items():
            plain = timed_sweep(base, trials, None, make)
            asha = timed_sweep(base, trials, "asha", make)
            print(
                f"| {name} | {label} | {plain['seconds']:.1f} | {asha['seconds']:.1f} | "
                f"{asha['seconds'] / plain['seconds']:.2f} | {plain['epochs']} | {asha['epochs']} | "
                f"{asha['epochs'] / plain['epochs']:.2f} | {asha['pruned']} of {trials} | "
                f"{plain['best']:.4f} | {asha['best']:.4f} |"
            )


if __name__ == "__main__":
    main()
