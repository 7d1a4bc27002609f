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

import concurrent.futures as cf
import dataclasses
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Callable

from ..core.errors import ConfigError, RunFailure
from ..results.sweeps import WORKER_DIED
from ..training.threads import available_cores
from .pool import Handle, WorkerPool
from .worker import TrialOutcome, TrialTask, failed_outcome

REQUEUES = 2  # a trial whose local worker died runs again this many times, then is recorded worker_died

DASK_MISSING = '--executor dask needs Dask; install it with: pip install "nnctl[dask]"'
#: seconds a sweep on Dask waits while no worker is connected, then stops (resumable)
WORKER_TIMEOUT = 600.0
#: what Dask and its event loop log; silenced while a sweep runs (its own messages say what happened)
DASK_LOGGERS = ("distributed", "tornado", "bokeh")
_QUERY_TIMEOUT = 5.0  # seconds one question to the scheduler may take before it counts as lost
_CLOSE_TIMEOUT = 3.0  # seconds closing the client may take (after a lost scheduler, instead of its reconnect wait)
_CHECK_EVERY = 1.0  # seconds between two looks at the cluster's workers
_FETCH_TIMEOUT = 10.0  # seconds fetching a finished trial's result may take before it counts as lost


class ExecutorLost(RunFailure):
    """The executor cannot run trials any more (its scheduler is gone, or no worker joined in time).

    The trials in flight did not finish; the driver marks them ``interrupted``, so the sweep resumes.
    """


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
    #: a trial whose worker died runs again this many times, then is recorded ``worker_died``
    requeues = REQUEUES

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
    installed but no shared filesystem. ``slots`` is the cluster's total number of worker threads,
    followed as workers come and go. Epoch rows and pruning decisions travel through two Dask
    queues per trial on the scheduler (nnctl/search/daskchannel.py).

    While no worker is connected the executor says so once through ``notify`` and waits; after
    ``worker_timeout`` seconds without one, or as soon as the scheduler is gone, :meth:`wait` raises
    :class:`ExecutorLost`. A trial whose worker died (Dask's ``KilledWorker``) comes back with the
    status ``worker_died``, which a resumed sweep runs again. Dask's own logging is silenced from
    :meth:`start` to :meth:`shutdown`.
    """

    def __init__(
        self,
        scheduler: str | None,
        connect_timeout: float = 10.0,
        worker_timeout: float | None = None,
        notify: Callable[[str], None] | None = None,
    ):
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise ConfigError(DASK_MISSING) from None
        if not scheduler:
            raise ConfigError("--executor dask needs --scheduler tcp://HOST:PORT (the address 'dask scheduler' prints)")
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self.worker_timeout = check_worker_timeout(WORKER_TIMEOUT if worker_timeout is None else worker_timeout)
        self.notify = notify or (lambda message: None)
        self.client = None
        self.slots = 1
        self.n_tasks = 1
        self.pending: set = set()  # futures not yet collected (a collected result is released)
        self.queues = None  # the sweep's Dask queues (nnctl/search/daskchannel.py), from start()
        self.rows: dict[str, list[dict]] = {}  # trial key → epoch rows read, not yet taken by reports()
        self.results: dict[str, tuple] = {}  # trial key → (its outcome, or the error it raised), fetched
        self._alone_since: float | None = None  # when the cluster was first seen without workers
        self._checked = -math.inf
        self._loggers: list | None = None

    def start(self, n_tasks: int) -> None:
        from distributed import Client

        self._loggers = _silence(DASK_LOGGERS)
        try:
            self.client = Client(self.scheduler, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            self._loggers = _restore(self._loggers)
            raise ConfigError(f"cannot reach the Dask scheduler at {self.scheduler}: {exc}") from None
        from .daskchannel import SweepQueues

        self.queues = SweepQueues(self.client, f"nnctl-sweep-{os.urandom(4).hex()}")
        self.n_tasks = n_tasks
        threads = sum(self.client.nthreads().values())
        self.slots = max(1, min(threads, n_tasks))

    def describe(self) -> str:
        workers = len(self.client.nthreads()) if self.client is not None else 0
        plural = ("s" if workers != 1 else "", "s" if self.slots != 1 else "")
        return f"Dask cluster at {self.scheduler} ({workers} worker{plural[0]}, {self.slots} slot{plural[1]})"

    def submit(self, task: TrialTask):
        if self.client.status != "running":
            raise self._lost()
        from .daskchannel import run_dask_trial

        key = f"nnctl-trial-{task.trial_id}-{os.urandom(3).hex()}"
        reporting = task.rungs is not None
        try:
            if reporting:
                self.queues.open(key)
            epochs = self.queues.name if reporting else None
            future = self.client.submit(run_dask_trial, task, epochs, key, key=key, pure=False)
        except Exception:  # the connection went while submitting
            if self.client.status != "running":
                raise self._lost() from None
            raise
        self.pending.add(future)
        self.rows[key] = []
        return future

    def reports(self, future) -> list[dict]:
        """The epoch rows ``future``'s trial sent since the last call."""
        rows, self.rows[future.key] = self.rows.get(future.key, []), []
        return rows

    def reply(self, future, decision: dict) -> None:
        """Send a pruning decision to ``future``'s trial."""
        self._ask(self.queues.send, future.key, decision)

    def _ask(self, call, *args):
        """One question to the scheduler; a lost connection is :class:`ExecutorLost`."""
        try:
            return call(*args)
        except (OSError, cf.CancelledError):  # CommClosedError is an OSError: the scheduler went
            raise self._lost() from None
        except Exception:
            if self.client.status != "running":
                raise self._lost() from None
            raise

    def wait(self, futures: list, timeout: float) -> set:
        """Read the trials' epoch rows until one of ``futures`` is done, a row arrives (a rung's
        decision can go back at once), or ``timeout`` seconds pass; looks every LOOK_EVERY seconds."""
        from .daskchannel import LOOK_EVERY

        deadline = time.monotonic() + timeout
        while True:
            self._watch(len(futures))
            done = self._done(futures)
            if done or not futures:
                return done
            messages = self._ask(self.queues.read)
            for message in messages:
                if message["key"] in self.rows:
                    self.rows[message["key"]].append(message["row"])
            if messages:  # the driver decides on them now
                return self._done(futures)
            if time.monotonic() >= deadline:
                return set()
            time.sleep(LOOK_EVERY)

    def _done(self, futures: list) -> set:
        """The futures that are done and whose results have arrived (kept for :meth:`outcome`).

        A result is fetched here, with a time limit, not in :meth:`outcome`: when the worker holding
        it dies before it is fetched, Dask computes the trial again, and a sweep process waiting for
        that without a limit would stop answering the trials' rungs, among them the rerun's."""
        if self.client.status != "running":  # the client cancels every future when the scheduler goes
            raise self._lost()
        done = set()
        for future in futures:
            if not future.done():
                continue
            if future.key not in self.results:
                try:
                    self.results[future.key] = (future.result(timeout=_FETCH_TIMEOUT), None)
                except TimeoutError:  # its worker died before the result was fetched: computed again
                    continue
                except Exception as exc:  # the trial's error, or a cancellation: for outcome()
                    self.results[future.key] = (None, exc)
            done.add(future)
        return done

    def outcome(self, future, task: TrialTask) -> TrialOutcome:
        from distributed import KilledWorker

        self.pending.discard(future)
        try:
            result, error = self.results.pop(future.key)  # fetched by wait()
            if error is not None:
                raise error
            return result
        except KilledWorker as exc:  # the worker died running this trial (as many times as Dask allows)
            died = failed_outcome(task, exc, worker=self.scheduler)
            return dataclasses.replace(died, status=WORKER_DIED, metrics={**died.metrics, "status": WORKER_DIED})
        except cf.CancelledError:  # nnctl cancels only at shutdown: this is the scheduler going
            raise self._lost() from None
        except Exception as exc:
            return failed_outcome(task, exc, worker=self.scheduler)
        finally:
            future.release()
            self.rows.pop(future.key, None)
            self.queues.release(future.key)

    def shutdown(self, kill: bool = False) -> None:
        """Close the connection; ``kill`` first cancels the trials still queued or running.

        Closing takes at most a few seconds, also after the scheduler is gone (the client would
        otherwise keep trying to reconnect for its whole timeout)."""
        if self.client is None:
            return
        try:
            if kill and self.pending and self.client.status == "running":
                try:  # a trial already running finishes on its worker, unread
                    self.client.cancel(list(self.pending))
                except Exception:  # the scheduler went meanwhile: nothing left to cancel
                    pass
            self.pending.clear()
            self.rows.clear()
            self.results.clear()
            if self.queues is not None:
                self.queues.close()
            try:
                self.client.close(timeout=_CLOSE_TIMEOUT)
            except Exception:  # a close that timed out leaves nothing the sweep needs
                pass
        finally:
            self.client = None
            self._loggers = _restore(self._loggers)

    def _watch(self, in_flight: int) -> None:
        """Follow the cluster's workers: say once when none is connected, raise ExecutorLost after
        ``worker_timeout`` seconds without one or when the scheduler does not answer."""
        if self.client.status != "running":
            raise self._lost()
        now = time.monotonic()
        if now - self._checked < _CHECK_EVERY:
            return
        self._checked = now
        try:
            nthreads = self.client.nthreads(callback_timeout=_QUERY_TIMEOUT)
        except Exception:  # CommClosedError, OSError, TimeoutError: no answer from the scheduler
            raise self._lost() from None
        threads = sum(nthreads.values())
        if threads:
            self.slots = max(1, min(threads, self.n_tasks))
            if self._alone_since is not None:
                self._alone_since = None
                n = len(nthreads)
                self.notify(f"{n} Dask worker{'s' if n != 1 else ''} connected at {self.scheduler}; the sweep goes on")
            return
        if self._alone_since is None:
            self._alone_since = now
            self.notify(
                f"waiting for Dask workers at {self.scheduler}: none connected "
                f"({in_flight} trial{'s' if in_flight != 1 else ''} in flight, none running); "
                f"the sweep stops after --worker-timeout {self.worker_timeout:g} s without one"
            )
        elif now - self._alone_since >= self.worker_timeout:
            raise ExecutorLost(
                f"no Dask worker joined the scheduler at {self.scheduler} within --worker-timeout "
                f"{self.worker_timeout:g} s"
            )

    def _lost(self) -> ExecutorLost:
        return ExecutorLost(f"lost the Dask scheduler at {self.scheduler}")


def check_worker_timeout(value: float) -> float:
    """``--worker-timeout``: a finite number of seconds > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        shown = f"{value:g}" if isinstance(value, float) else value
        raise ConfigError(f"--worker-timeout {shown} is not allowed; expected a number of seconds > 0, e.g. 600")
    return float(value)


def _silence(prefixes: tuple[str, ...]) -> list[tuple[logging.Logger, int, bool]]:
    """Turn off the loggers named ``prefixes`` and every one below them; returns what to restore."""
    names = set(prefixes) | {
        name for name in list(logging.root.manager.loggerDict) if name.startswith(tuple(p + "." for p in prefixes))
    }
    saved = []
    for name in sorted(names):
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.disabled))
        logger.disabled = True
        if name in prefixes:  # loggers created later inherit this level
            logger.setLevel(logging.CRITICAL + 1)
    return saved


def _restore(saved: list[tuple[logging.Logger, int, bool]] | None) -> None:
    """Put back the loggers :func:`_silence` turned off (returns None, what is left to restore)."""
    for logger, level, disabled in saved or []:
        logger.setLevel(level)
        logger.disabled = disabled
    return None


def make_executor(
    kind: str,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    worker_timeout: float | None = None,
    notify: Callable[[str], None] | None = None,
):
    """``local`` (default) or ``dask``; ConfigError for anything else. ``notify`` receives the Dask
    executor's notices (waiting for workers, workers back)."""
    if worker_timeout is not None:
        check_worker_timeout(worker_timeout)
    if kind == "local":
        if scheduler:
            raise ConfigError("--scheduler applies to --executor dask only")
        if worker_timeout is not None:
            raise ConfigError("--worker-timeout applies to --executor dask only")
        return LocalExecutor(workers)
    if kind == "dask":
        return DaskExecutor(scheduler, worker_timeout=worker_timeout, notify=notify)
    raise ConfigError(f"executor '{kind}' is not allowed; allowed: local, dask")
