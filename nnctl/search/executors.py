"""Where trials run: a pool of local worker processes, or an existing Dask cluster.

Both executors have the same small interface — ``start(n_tasks)``, ``slots``, ``submit(task)``,
``wait(futures, timeout)``, ``outcome(future, task)``, ``reports(future)`` (the epoch rows the
trial sent since the last call), ``reply(future, decision)`` (a pruning decision back to it),
``shutdown(kill)`` — and run the same function, :func:`~nnctl.search.worker.run_trial`, which
returns a trial's results as data. The driver keeps at most ``slots`` trials in flight and writes
every result itself.

Local workers are started by a *fork server*: one fresh interpreter that imports NumPy and nnctl
once, and starts numba for the compiled kernels (nnctl/core/kernels/preload.py), from which each
worker is forked. Unlike a plain ``fork`` of the driver, no lock held by a driver thread and no
state of the driver's BLAS thread pool is inherited; unlike ``spawn``, the workers do not each
import everything again (on 2 cores, 2 spawned workers took 1.2-2.7 s to run
their first trial, forked from the server 1.0-1.2 s). Where there is no fork server (Windows),
``spawn`` is used. Workers are reused across trials, so start-up is paid once per worker.
(The worker processes and their pipes: nnctl/search/pool.py.)
"""

from __future__ import annotations

import multiprocessing
import os

from ..core.errors import ConfigError
from ..training.threads import available_cores
from .pool import Handle, WorkerPool
from .worker import TrialOutcome, TrialTask, failed_outcome, run_trial

DASK_MISSING = '--executor dask needs Dask; install it with: pip install "nnctl[dask]"'


class LocalExecutor:
    """``workers`` processes on this machine, each limited to ``threads`` BLAS threads.

    By default one worker per core and one BLAS thread per trial. Independent trials in separate
    processes scale almost linearly; BLAS threads inside one small trial do not (the matrices of a
    small MLP are too small to split). And a trial's numbers must not depend on how many workers
    share the machine: OpenBLAS splits a product differently over other thread counts, which
    changes its rounding, so every trial gets the same thread count (``threads``, default 1)
    whatever the number of workers; then the same trial gives the same bytes with 1 or 8 workers.

    The processes are nnctl's own (nnctl/search/pool.py): a worker that dies costs only its trial,
    workers end when the sweep process dies, and a trial reports every epoch while it trains.
    """

    #: a trial waiting for a pruning decision holds a process but no core: the sweep may start
    #: another trial beside it (see nnctl/search/sweep.py)
    overcommit = True

    def __init__(self, workers: int | None = None, threads: int | None = None, context: str | None = None):
        if workers is not None and workers < 1:
            raise ConfigError(f"workers={workers} is not allowed; expected an integer >= 1")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads={threads} is not allowed; expected an integer >= 1")
        self.workers = workers or available_cores()
        self.threads = threads
        self.context = context or ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn")
        self.pool: WorkerPool | None = None
        self.slots = self.workers
        self.threads_used = threads or 1

    def start(self, n_tasks: int) -> None:
        """Workers are started as trials need them: no idle worker is started for a short sweep."""
        self.slots = max(1, min(self.workers, n_tasks))
        # imported once, in the fork server; the kernels' numba start-up too (never its thread pool)
        self.pool = WorkerPool(self.context, self.threads_used, ["nnctl.search.pool", "nnctl.core.kernels.preload"])

    def describe(self) -> str:
        threads = self.threads_used
        processes = f"{self.slots} local worker process{'es' if self.slots != 1 else ''}"
        return f"{processes} × {threads} BLAS thread{'s' if threads != 1 else ''}"

    def submit(self, task: TrialTask) -> Handle:
        return self.pool.submit(task)

    def wait(self, handles: list[Handle], timeout: float) -> set[Handle]:
        return self.pool.wait(handles, timeout)

    def reports(self, handle: Handle) -> list[dict]:
        """The epoch rows ``handle``'s trial sent since the last call."""
        rows, handle.reports = handle.reports, []
        return rows

    def reply(self, handle: Handle, decision: dict) -> None:
        self.pool.reply(handle, decision)

    def outcome(self, handle: Handle, task: TrialTask) -> TrialOutcome:
        return handle.outcome

    def shutdown(self, kill: bool = False) -> None:
        """Stop the workers; ``kill`` ends them mid-trial (after Ctrl-C) instead of letting them exit."""
        if self.pool is not None:
            self.pool.shutdown(kill)
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
