"""Where trials run: a pool of local worker processes, or an existing Dask cluster.

Both executors have the same small interface — ``start(n_tasks)``, ``slots``, ``submit(task)``,
``wait(futures, timeout)``, ``outcome(future, task)``, ``shutdown(kill)`` — and run the same
function, :func:`~nnctl.search.worker.run_trial`, which returns a trial's results as data. The
driver keeps at most ``slots`` trials in flight and writes every result itself.

Local workers are started by a *fork server*: one fresh interpreter that imports NumPy and nnctl
once, and starts numba for the compiled kernels (nnctl/core/kernels/preload.py), from which each
worker is forked. Unlike a plain ``fork`` of the driver, no lock held by a driver thread and no
state of the driver's BLAS thread pool is inherited; unlike ``spawn``, the workers do not each
import everything again (on 2 cores, 2 spawned workers took 1.2-2.7 s to run
their first trial, forked from the server 1.0-1.2 s). Where there is no fork server (Windows),
``spawn`` is used. Workers are reused across trials, so start-up is paid once per worker.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os

from ..core.errors import ConfigError
from ..training.threads import available_cores
from .worker import TrialOutcome, TrialTask, failed_outcome, init_worker, run_trial

DASK_MISSING = '--executor dask needs Dask; install it with: pip install "nnctl[dask]"'


class LocalExecutor:
    """``workers`` processes on this machine, each limited to ``threads`` BLAS threads.

    By default one worker per core and one BLAS thread per trial. Independent trials in separate
    processes scale almost linearly; BLAS threads inside one small trial do not (the matrices of a
    small MLP are too small to split). And a trial's numbers must not depend on how many workers
    share the machine: OpenBLAS splits a product differently over other thread counts, which
    changes its rounding, so every trial gets the same thread count (``threads``, default 1)
    whatever the number of workers; then the same trial gives the same bytes with 1 or 8 workers.
    """

    def __init__(self, workers: int | None = None, threads: int | None = None, context: str | None = None):
        if workers is not None and workers < 1:
            raise ConfigError(f"workers={workers} is not allowed; expected an integer >= 1")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads={threads} is not allowed; expected an integer >= 1")
        self.workers = workers or available_cores()
        self.threads = threads
        self.context = context or ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
        self.pool: cf.ProcessPoolExecutor | None = None
        self.slots = self.workers
        self.threads_used = threads or 1

    def start(self, n_tasks: int) -> None:
        """Start min(workers, n_tasks) processes: no idle worker is started for a short sweep."""
        self.slots = max(1, min(self.workers, n_tasks))
        threads = self.threads_used
        context = multiprocessing.get_context(self.context)
        if self.context == "forkserver":
            # imported once, in the server; the kernels' numba start-up too (never its thread pool)
            context.set_forkserver_preload(["nnctl.search.worker", "nnctl.core.kernels.preload"])
        self.pool = cf.ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=context,
            initializer=init_worker,
            initargs=(threads,),
        )

    def describe(self) -> str:
        threads = self.threads_used
        processes = f"{self.slots} local worker process{'es' if self.slots != 1 else ''}"
        return f"{processes} × {threads} BLAS thread{'s' if threads != 1 else ''}"

    def submit(self, task: TrialTask) -> cf.Future:
        try:
            return self.pool.submit(run_trial, task)
        except cf.process.BrokenProcessPool:  # a worker died earlier: start a fresh pool
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.start(self.slots)
            return self.pool.submit(run_trial, task)

    def wait(self, futures: list[cf.Future], timeout: float) -> set[cf.Future]:
        done, _ = cf.wait(futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return done

    def outcome(self, future: cf.Future, task: TrialTask) -> TrialOutcome:
        try:
            return future.result()
        except cf.process.BrokenProcessPool as exc:
            return failed_outcome(task, f"worker process died ({exc})", worker="local")
        except Exception as exc:  # e.g. a result that could not be sent back
            return failed_outcome(task, exc, worker="local")

    def shutdown(self, kill: bool = False) -> None:
        """Stop the pool; ``kill`` terminates workers mid-trial (after Ctrl-C) instead of waiting."""
        if self.pool is None:
            return
        if kill:
            processes = list(getattr(self.pool, "_processes", {}).values())
            self.pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.terminate()
            for process in processes:
                process.join(timeout=5)
        else:
            self.pool.shutdown(wait=True)
        self.pool = None


class DaskExecutor:
    """Trials submitted to an existing Dask distributed cluster (``dask scheduler`` + ``dask worker``).

    Each trial's result travels back to the driver, which writes it, so the workers need nnctl
    installed but no shared filesystem. ``slots`` is the cluster's total number of worker threads.
    """

    def __init__(self, scheduler: str | None, connect_timeout: float = 10.0):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError(DASK_MISSING) from None
        if not scheduler:
            raise ConfigError("--executor dask needs --scheduler tcp://HOST:PORT (the address 'dask scheduler' prints)")
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self.client = None
        self.slots = 1
        self.pending: set = set()  # futures not yet collected (a collected result is released)

    def start(self, n_tasks: int) -> None:
        from distributed import Client

        try:
            self.client = Client(self.scheduler, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        threads = sum(self.client.nthreads().values())
        self.slots = max(1, min(threads, n_tasks))

    def describe(self) -> str:
        workers = len(self.client.nthreads()) if self.client is not None else 0
        return f"Dask cluster at {self.scheduler} ({workers} workers, {self.slots} slots)"

    def submit(self, task: TrialTask):
        key = f"nnctl-trial-{task.trial_id}-{os.urandom(3).hex()}"
        future = self.client.submit(run_trial, task, key=key, pure=False)
        self.pending.add(future)
        return future

    def wait(self, futures: list, timeout: float) -> set:
        from distributed import wait

        try:
            done, _ = wait(futures, timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)

    def outcome(self, future, task: TrialTask) -> TrialOutcome:
        self.pending.discard(future)
        try:
            return future.result()
        except Exception as exc:  # e.g. KilledWorker: the worker died running this trial
            return failed_outcome(task, exc, worker=self.scheduler)
        finally:
            future.release()

    def shutdown(self, kill: bool = False) -> None:
        """Close the connection; ``kill`` first cancels the trials still queued or running."""
        if self.client is None:
            return
        if kill and self.pending:
            self.client.cancel(list(self.pending))  # a trial already running finishes on its worker, unread
        self.pending.clear()
        self.client.close()
        self.client = None


def make_executor(kind: str, *, workers: int | None = None, scheduler: str | None = None):
    """``local`` (default) or ``dask``; ConfigError for anything else."""
    if kind == "local":
        if scheduler:
            raise ConfigError("--scheduler applies to --executor dask only")
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler)
    raise ConfigError(f"executor '{kind}' is not allowed; allowed: local, dask")
