"""Local worker processes, each talking to the sweep process over its own pipe.

Why not ``concurrent.futures.ProcessPoolExecutor``: when one of its workers dies, the whole pool
is broken and every trial in flight is lost, the healthy workers' too; it cannot say which trial
the dead worker was running; and a worker cannot talk to the sweep process while it trains (the
per-epoch curve that pruning decides on, and the decision back). Here each worker is one process
with one duplex pipe:

    sweep process → worker:  ("task", TrialTask)   ("decision", trial_id, dict)   None (exit)
    worker → sweep process:  ("epoch", trial_id, row)   ("done", trial_id, TrialOutcome)

A worker that dies (the OOM killer, ``kill -9``) shows as its pipe closing and its process
sentinel firing: exactly the trial it was running is lost, and a fresh worker takes the next.

No orphans: each worker also holds the reading end of a *lifeline* pipe whose only writer is the
sweep process. A thread in the worker blocks reading it; when the sweep process dies, however it
dies (SIGKILL included), the kernel closes its end, the read returns and the worker exits at once.
The fork server and Python's resource tracker exit by themselves once no worker holds their pipes.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection as mpc
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from .worker import TrialOutcome, TrialTask, died_outcome, init_worker, run_trial


class PipeChannel:
    """A trial's side of the pipe inside a worker: epoch rows out, pruning decisions in."""

    def __init__(self, conn, trial_id: str):
        self.conn = conn
        self.trial_id = trial_id

    def report(self, row: dict[str, Any]) -> None:
        self.conn.send(("epoch", self.trial_id, row))

    def decision(self, epoch: int) -> dict[str, Any]:
        """Block until the sweep process decides at rung ``epoch`` (sent after its epoch row)."""
        while True:
            message = self.conn.recv()
            if message is None:  # told to exit (the sweep is stopping)
                os._exit(0)
            if message[0] == "decision" and message[1] == self.trial_id and message[2].get("epoch") == epoch:
                return message[2]


def _watch_lifeline(lifeline) -> None:
    try:
        lifeline.recv()  # nothing is ever sent: this returns only when the sweep process is gone
    except (EOFError, OSError):
        pass
    os._exit(1)


def worker_main(conn, lifeline, threads: int | None) -> None:
    """A worker process: run the tasks it is sent, one at a time, until told to exit."""
    init_worker(threads)
    threading.Thread(target=_watch_lifeline, args=(lifeline,), daemon=True).start()
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if message is None:
            break
        _, task = message
        outcome = run_trial(task, PipeChannel(conn, task.trial_id) if task.rungs is not None else None)
        try:
            conn.send(("done", task.trial_id, outcome))
        except (BrokenPipeError, OSError):
            os._exit(0)


@dataclass(eq=False)
class Handle:
    """A trial in flight on a worker: what ``submit`` returns and ``wait`` gives back when done."""

    task: TrialTask
    worker: _Worker | None = None
    outcome: TrialOutcome | None = None
    reports: list[dict[str, Any]] = field(default_factory=list)


class _Worker:
    def __init__(self, context, threads: int | None):
        self.conn, child = context.Pipe(duplex=True)
        lifeline_r, self.lifeline = context.Pipe(duplex=False)
        self.process = context.Process(target=worker_main, args=(child, lifeline_r, threads), daemon=True)
        self.process.start()
        child.close()
        lifeline_r.close()
        self.handle: Handle | None = None

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self, kill: bool) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.conn.send(None)
            except OSError:
                pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()
        self.lifeline.close()


class WorkerPool:
    """Worker processes started on demand (at most as many as trials running), each reused."""

    def __init__(self, context_name: str, threads: int | None, preload: list[str]):
        self.context = multiprocessing.get_context(context_name)
        if context_name == "forkserver":
            self.context.set_forkserver_preload(preload)
        self.threads = threads
        self.workers: list[_Worker] = []

    def submit(self, task: TrialTask) -> Handle:
        worker = next((w for w in self.workers if w.handle is None and w.alive()), None)
        if worker is None:
            worker = _Worker(self.context, self.threads)
            self.workers.append(worker)
        handle = Handle(task, worker)
        worker.handle = handle
        worker.conn.send(("task", task))
        return handle

    def wait(self, handles: list[Handle], timeout: float) -> set[Handle]:
        """Read what the workers sent (epoch rows are kept on their handles) until a trial ends,
        a worker dies, or ``timeout`` seconds pass; returns the handles that ended."""
        busy = [h.worker for h in handles if h.worker is not None and h.outcome is None]
        done = {h for h in handles if h.outcome is not None}
        if done or not busy:
            return done
        ready = mpc.wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout)
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                self._drain(worker)
        return {h for h in handles if h.outcome is not None}

    def _drain(self, worker: _Worker) -> None:
        handle = worker.handle
        try:
            while worker.conn.poll():
                kind, _, payload = worker.conn.recv()
                if kind == "epoch" and handle is not None:
                    handle.reports.append(payload)
                elif kind == "done" and handle is not None:
                    handle.outcome = payload
                    worker.handle = None
                    return
        except (EOFError, OSError):
            pass
        if not worker.alive() or worker.conn.closed:
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        """A worker died: its trial (if any) ends as ``worker_died``; the worker is replaced on demand."""
        worker.process.join(timeout=1)
        handle, worker.handle = worker.handle, None
        if handle is not None and handle.outcome is None:
            code = worker.process.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            handle.outcome = died_outcome(
                handle.task, f"the worker process died ({how})", worker=f"local:{worker.process.pid}"
            )
        if worker in self.workers:
            self.workers.remove(worker)
        worker.stop(kill=True)

    def reply(self, handle: Handle, decision: dict[str, Any]) -> None:
        if handle.worker is not None and handle.outcome is None:
            try:
                handle.worker.conn.send(("decision", handle.task.trial_id, decision))
            except OSError:
                pass  # the worker died meanwhile: wait() reports it

    def shutdown(self, kill: bool) -> None:
        for worker in self.workers:
            worker.stop(kill=kill)
        self.workers = []
