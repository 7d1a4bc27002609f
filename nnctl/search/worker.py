"""What a worker does: run one trial start to end and return everything it produced as data.

The same function runs in a local worker process and on a Dask worker. The trial is recorded by
the RunRecorder of ``nnctl train`` into a scratch directory that is discarded; its files travel
back to the driver as bytes and the driver writes the trial directory. So Dask workers need no
shared filesystem, and a trial gives the same files, byte for byte apart from timings, whichever
executor ran it.
"""

from __future__ import annotations

import os
import signal
import socket
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..results.runs import RunRecorder
from ..training import RunConfig, fit, prepare
from ..training.callbacks import Callback, Stop
from ..training.status import FAILED, PRUNED, RESULTS, WORKER_DIED

_limits = None  # the worker's BLAS thread limit, kept alive for the life of the process


def init_worker(threads: int | None = None) -> None:
    """Initializer of a local worker process.

    * Ctrl-C and a closed terminal's SIGHUP reach the whole process group; only the sweep process
      acts on them (it marks the trials in flight and stops the workers).
    * BLAS threads are limited so that workers × threads ≤ cores: oversubscribed BLAS threads spin
      against each other and a sweep gets slower with more workers, not faster.
    (The worker exits when the sweep process dies: see the lifeline in nnctl/search/pool.py.)
    """
    global _limits
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if threads:
        from threadpoolctl import threadpool_limits

        _limits = threadpool_limits(limits=threads)


class _Recorder(RunRecorder):
    """The RunRecorder of ``nnctl train``, writing each file once at the end instead of every epoch.

    A trial is read back whole when it ends, so rewriting curve.csv after every epoch (a CSV
    render and an fsync each time) would be wasted work.
    """

    def __init__(self, run_dir: Path, extra: dict[str, Any]):
        super().__init__(run_dir, extra)
        self.pending: list[dict[str, Any]] = []
        self.metrics: dict[str, Any] = {}

    def on_epoch_end(self, row: dict[str, Any]) -> None:
        self.pending.append(row)

    def on_train_end(self, result) -> None:
        if self.pending:
            self.rows = self.pending[:-1]
            super().on_epoch_end(self.pending[-1])  # writes curve.csv (and diagnostics.csv) once
        super().on_train_end(result)

    def _write_metrics(self, metrics: dict[str, Any]) -> None:
        self.metrics = metrics
        super()._write_metrics(metrics)


@dataclass
class TrialTask:
    """What a worker is given: the trial's id, its run configuration (a RunConfig dict) and what its
    config.json adds (the sweep id, the trial's axis values, the options the user set)."""

    trial_id: str
    config: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    #: the epochs at which the worker reports to the sweep process and waits for a pruning
    #: decision; ``[]``: report every epoch's row, decide nothing; None: report nothing
    rungs: list[int] | None = None


@dataclass
class TrialOutcome:
    """What a worker gives back, as data: the trial's status and error, its run directory as
    ``{file name: bytes}`` (None when it failed before having one), a config.json document for a
    failed trial, its metrics row and the worker that ran it."""

    trial_id: str
    status: str
    error: str | None
    files: dict[str, bytes] | None
    document: dict[str, Any] | None
    metrics: dict[str, Any]
    worker: str


def worker_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class _Reporter(Callback):
    """Sends each epoch's row to the sweep process; at a rung epoch, waits for its decision.

    The decision is ``{"epoch": int, "prune": bool, "reason": str, "audit": bool}``. A pruned trial
    stops at the rung with status ``pruned``; an audited one (the pruner said stop, but it was picked
    to check the pruner) trains to the end, and ends ``pruned`` too, its ``stop_reason`` saying so.
    """

    def __init__(self, channel, rungs: list[int]):
        self.channel = channel
        self.rungs = set(rungs)
        self.audited: str | None = None
        self.pruned_epoch: int | None = None

    def on_epoch_end(self, row: dict[str, Any]) -> Stop | None:
        self.channel.report(row)
        if int(row["epoch"]) not in self.rungs:
            return None
        decision = self.channel.decision(int(row["epoch"]))
        if not decision.get("prune"):
            return None
        self.pruned_epoch = int(row["epoch"])
        if decision.get("audit"):
            self.audited = decision["reason"]
            self.rungs = set()  # an audited trial is judged no more
            return None
        return Stop(PRUNED, decision["reason"])

    def on_train_stop(self, result) -> None:
        result.pruned_epoch = self.pruned_epoch
        if self.audited and result.status in RESULTS:
            result.audited = True
            ended = result.status
            result.status = PRUNED
            result.stop_reason = f"{self.audited}; audited: trained on to the end, where it ended {ended}"


def run_trial(task: TrialTask, channel=None) -> TrialOutcome:
    """Prepare and fit one trial; return its outcome (never raises: a crash becomes status 'failed').

    The run directory ``nnctl train`` would write is recorded in a scratch directory named by the
    trial id and travels back as bytes. With a ``channel`` (and ``task.rungs`` set), every epoch's
    row is reported to the sweep process as it is recorded, and pruning decisions come back.
    """
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    t0 = time.perf_counter()
    try:
        cfg = RunConfig.from_dict(task.config)
        if cfg.threads is None:  # a sweep spreads its trials over the cores: one thread each
            cfg = cfg.replace(threads=1)
        run = prepare(cfg)
        with tempfile.TemporaryDirectory(prefix="nnctl-trial-") as scratch:
            run_dir = Path(scratch) / task.trial_id
            run_dir.mkdir()
            recorder = _Recorder(run_dir, task.extra)
            reporter = [_Reporter(channel, task.rungs)] if channel is not None and task.rungs is not None else []
            result = fit(run, [*reporter, recorder])
            files = {
                p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file() and not p.name.startswith(".")
            }
        return TrialOutcome(task.trial_id, result.status, None, files, None, recorder.metrics, worker_label())
    except Exception as exc:  # any failure is the trial's result; the sweep goes on
        return failed_outcome(
            task, exc, started=started, seconds=time.perf_counter() - t0, details=traceback.format_exc()
        )


def failed_outcome(
    task: TrialTask,
    error: BaseException | str,
    *,
    started: str | None = None,
    seconds: float | None = None,
    details: str | None = None,
    worker: str | None = None,
    status: str = FAILED,
) -> TrialOutcome:
    """The outcome of a trial that raised: status 'failed' and the error."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    message = " ".join(message.split())
    metrics = {
        "status": status,
        "stop_reason": message,
        "wall_seconds": seconds,
        "started": started,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    document = {"run_id": task.trial_id, "config": task.config, **task.extra}
    if details:
        document["traceback"] = details
    return TrialOutcome(task.trial_id, status, message, None, document, metrics, worker or worker_label())


def died_outcome(task: TrialTask, error: BaseException | str, *, worker: str) -> TrialOutcome:
    """The outcome of a trial whose worker process died under it: status ``worker_died`` (not the
    trial's fault; the sweep runs it again on a fresh worker, a bounded number of times)."""
    return failed_outcome(task, error, worker=worker, status=WORKER_DIED)
