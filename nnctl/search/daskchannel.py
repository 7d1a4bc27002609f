"""Epoch rows and pruning decisions between trials on Dask workers and the sweep process.

A local worker talks to the sweep process over its pipe (nnctl/search/pool.py). A Dask worker may
be on another machine, with no port of its own the sweep process could reach; what both already
reach is the scheduler. So the messages travel through Dask queues held by the scheduler:

    workers → sweep process:  one queue per sweep, "<sweep>-epochs"
                              {"key": trial key, "row": {...}} per epoch
    sweep process → worker:   one queue per trial, "<trial key>-decisions"
                              {"epoch": e, "prune": bool, "reason": str, "audit": bool} per rung

Both sides look at their queue every few hundredths of a second without waiting on the scheduler
(a wait there that times out is logged as an error in the scheduler's log); one queue for all the
epoch rows makes that one question per look, however many trials run. The sweep process creates
the queues and releases them; messages travel as msgpack, so NumPy scalars become Python numbers.

A decision names the rung epoch it is for, and a trial takes only the decision for the rung it
waits at. That matters when Dask runs a trial again after its worker died: the new run reports
its epochs from the first again (the sweep process sees the epoch go back and judges it afresh,
nnctl/search/pruning.py), and a decision sent to the run that died is not mistaken for a later one.

While it waits for a decision, the trial gives its worker thread back (Dask's ``secede``; it takes
one again with ``rejoin`` when the decision comes). The trial it waits for may be queued behind it
on the same worker, as when Dask reruns a dead worker's trial on a busy one; holding the thread
would then wait forever. The local pool does the same by starting a trial beside the waiting ones
(nnctl/search/sweep.py). And once a second the waiting trial looks whether its task is still wanted:
when the sweep process stops (Ctrl-C, SIGKILL, a lost connection) the scheduler cancels the task,
and the trial ends.
"""

from __future__ import annotations

import time
from typing import Any

from ..core.errors import RunFailure
from .worker import TrialOutcome, TrialTask, run_trial

LOOK_EVERY = 0.05  # seconds between two looks at a queue
_WANTED_EVERY = 1.0  # seconds between two checks, while a trial waits, that its task is still wanted


def decisions_name(key: str) -> str:
    """The name of a trial's decision queue."""
    return f"{key}-decisions"


def run_dask_trial(task: TrialTask, epochs: str | None, key: str) -> TrialOutcome:
    """What a Dask worker runs: :func:`~.worker.run_trial`, reporting to the sweep's queue named
    ``epochs`` (None: the trial reports nothing) and taking decisions from its own."""
    if epochs is None:
        return run_trial(task)
    channel = WorkerChannel(epochs, key)
    try:
        return run_trial(task, channel)
    finally:
        channel.close()


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python number msgpack can carry."""
    return value.item() if hasattr(value, "item") and not isinstance(value, (str, bytes)) else value


class WorkerChannel:
    """A trial's side on its Dask worker: epoch rows out, decisions in (the worker's own client)."""

    def __init__(self, epochs: str, key: str):
        from distributed import Queue, get_worker

        self.worker = get_worker()
        self.key = key
        self.epochs, self.decisions = Queue(epochs), Queue(decisions_name(key))

    def report(self, row: dict[str, Any]) -> None:
        self.epochs.put({"key": self.key, "row": {k: _plain(v) for k, v in row.items()}})

    def decision(self, epoch: int) -> dict[str, Any]:
        """Wait for the decision at rung ``epoch`` (one sent for another epoch is dropped), the
        worker thread given back meanwhile."""
        from distributed import rejoin, secede

        secede()
        try:
            checked = time.monotonic()
            while True:
                for message in self.decisions.get(batch=True):
                    if message.get("epoch") == epoch:
                        return message
                if time.monotonic() - checked >= _WANTED_EVERY:
                    self._still_wanted()
                    checked = time.monotonic()
                time.sleep(LOOK_EVERY)
        finally:
            rejoin()

    def _still_wanted(self) -> None:
        task = self.worker.state.tasks.get(self.key)
        if task is None or task.state in ("cancelled", "released", "forgotten"):
            raise RunFailure("the sweep process stopped waiting for this trial")

    def close(self) -> None:
        _close(self.epochs, self.decisions)


class SweepQueues:
    """The queues in the sweep process: the sweep's epoch queue, and each trial's decision queue
    (made before the trial is submitted, released when its result is read)."""

    def __init__(self, client, name: str):
        from distributed import Queue

        self.client = client
        self.name = f"{name}-epochs"
        self.epochs = Queue(self.name, client=client)
        self.decisions: dict[str, Any] = {}

    def open(self, key: str) -> None:
        from distributed import Queue

        self.decisions[key] = Queue(decisions_name(key), client=self.client)

    def read(self) -> list[dict[str, Any]]:
        """The messages the trials sent since the last call (never waits)."""
        return self.epochs.get(batch=True)

    def send(self, key: str, decision: dict[str, Any]) -> None:
        queue = self.decisions.get(key)
        if queue is not None:
            queue.put(decision)

    def release(self, key: str) -> None:
        queue = self.decisions.pop(key, None)
        if queue is not None:
            _close(queue)

    def close(self) -> None:
        _close(self.epochs, *self.decisions.values())
        self.decisions.clear()


def _close(*queues) -> None:
    for queue in queues:
        try:
            queue.close()
        except Exception:  # the scheduler is gone: nothing is left to release
            pass
