"""Running a sweep: check the trials, skip the finished ones, run the rest, record every result.

The driver (this module) keeps at most ``executor.slots`` trials in flight. Each trial runs in a
worker and comes back as data; the driver writes its directory (complete, then renamed into place)
and rewrites ``sweep.csv``. Because the trial directories are the record of what finished, a sweep
resumes by identity: running the same spec again (or ``nnctl sweep resume``) skips every trial whose
directory says it finished, reruns the ones that were in flight, and reruns failed ones only when
asked (``retry_failed``). Progress reaches the caller through :class:`SweepCallback` hooks.

While trials train, their epoch rows stream to the driver: a pruner (nnctl/search/pruning.py)
decides at rung epochs, and a tpe sweep (nnctl/search/proposals.py) proposes its next batch of
points once the batches before it have ended (local workers send their rows over a pipe,
nnctl/search/pool.py; Dask workers through queues on the scheduler, nnctl/search/daskchannel.py).
A trial whose worker process died (the OOM killer, ``kill -9``) is not the trial's fault: it runs
again, first in line, up to ``executor.requeues`` times (local workers; a Dask scheduler retries by
itself), and is then recorded ``worker_died``, which a plain resume runs again.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, RunFailure
from ..results.store import RunLock
from ..results.sweeps import (
    clean_scratch,
    find_sweep,
    open_sweep_dir,
    read_sweep,
    read_trial_record,
    score_column,
    sweep_row,
    trial_metrics,
    write_sweep_csv,
    write_trial,
)
from ..training.status import FAILED, FINISHED, PENDING, RESULTS, WORKER_DIED
from ..version import __version__
from .checking import any_point, check_trials  # noqa: F401  (check_trials is re-exported)
from .executors import ExecutorLost
from .identity import canonical_spec, sweep_id
from .proposals import TrialSource
from .pruning import SweepPruning
from .space import SearchSpace, Trial, build_space, expand, point_trials
from .worker import TrialOutcome, TrialTask


class SweepCallback:
    """Hooks a caller can implement (all optional)."""

    def on_sweep_begin(self, state: SweepState) -> None: ...

    def on_trial_start(self, state: SweepState, trial: Trial) -> None: ...

    def on_trial_epoch(self, state: SweepState, trial: Trial, row: dict[str, Any]) -> None: ...

    def on_trial_end(self, state: SweepState, trial: Trial, row: dict[str, Any]) -> None: ...

    def on_sweep_end(self, state: SweepState) -> None: ...


@dataclass
class SweepState:
    """A sweep as it runs: its trials and one sweep.csv row per trial (in expansion order)."""

    sweep_id: str
    path: Path
    space: SearchSpace
    trials: list[Trial]
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: int = 0  # finished before this run started
    damaged: dict[str, str] = field(default_factory=dict)  # trial id → why its directory is no whole run (rerun)
    interrupted: bool = False
    executor: str = ""
    planned: int | None = None  # how many trials in all, when they are proposed as the sweep runs

    @property
    def total(self) -> int:
        return self.planned if self.planned is not None else len(self.trials)

    @property
    def axes(self) -> list[str]:
        return list(self.space.params) + (["seed"] if self.space.repeats > 1 else [])

    @property
    def monitor(self) -> str:
        return self.space.base_config().monitor

    def count(self, *statuses: str) -> int:
        return sum(row["status"] in statuses for row in self.rows.values())

    def best(self) -> dict[str, Any] | None:
        """The trial trained to its end with the best monitored metric so far (None before the first)."""
        column, mode = score_column(self.monitor)
        scored = [r for r in self.rows.values() if r["status"] in RESULTS and _finite(r.get(column))]
        if not scored:
            return None
        pick = min if mode == "min" else max
        return pick(scored, key=lambda r: r[column])

    def write(self) -> None:
        write_sweep_csv(self.path, [self.rows[t.trial_id] for t in self.trials], self.axes)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == value and abs(value) != float("inf")


def plan(space: SearchSpace) -> tuple[str, list[Trial]]:
    """The sweep id and its trials (pure: nothing is checked against data, nothing is written)."""
    return sweep_id(space), expand(space)


def run_sweep(
    space: SearchSpace,
    executor,
    *,
    retry_failed: bool = False,
    callbacks: list[SweepCallback] | None = None,
    poll: float = 0.5,
) -> SweepState:
    """Run every unfinished trial of ``space`` on ``executor``; returns the final state.

    Ctrl-C (or SIGTERM, SIGHUP) stops the sweep: finished trials are kept, in-flight ones are
    marked ``interrupted`` in sweep.csv, workers are stopped, and the returned state has
    ``interrupted=True``. An executor that can run nothing more (:class:`~.executors.ExecutorLost`:
    the Dask scheduler went, or no worker joined in time) does the same, then raises its error,
    which says how to resume.
    """
    callbacks = callbacks or []
    source = TrialSource(space)
    sid = sweep_id(space)
    trials = [] if source.model_based else source.more({})
    check_trials(space, trials or point_trials(space, any_point(space)))
    if space.prune and not hasattr(executor, "reports"):
        raise ConfigError(f"--prune needs trials that report each epoch; {type(executor).__name__} trials do not")
    document = {
        "sweep_id": sid,
        "spec": canonical_spec(space),
        "trials": [{"trial_id": t.trial_id, "point_id": t.point_id, "params": t.params} for t in trials],
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "nnctl": __version__,
    }
    path = open_sweep_dir(space.base_config().results_dir, sid, document)
    lock = RunLock(path).acquire()  # one process runs a sweep at a time; released however it ends
    if lock.busy:
        raise RunFailure(
            f"sweep '{path}' is being run by another nnctl process; wait for it to finish (or stop it), "
            f"then run 'nnctl sweep resume {path}'"
        )
    try:
        clean_scratch(path)
        state = SweepState(sid, path, space, [], planned=source.planned)
        return _Driver(state, source, executor, retry_failed, callbacks, poll).run(trials)
    finally:
        lock.release()


class _Driver:
    """The loop of one run of a sweep: admit trials, keep the executor busy, decide rungs, record."""

    def __init__(self, state: SweepState, source: TrialSource, executor, retry_failed, callbacks, poll):
        self.state, self.source, self.executor = state, source, executor
        self.retry_failed, self.callbacks, self.poll = retry_failed, callbacks, poll
        self.todo: deque[Trial] = deque()
        self.running: dict[Any, tuple[Trial, TrialTask]] = {}
        self.index: dict[str, int] = {}  # trial id → its position in the sweep's order
        self.attempts: dict[str, int] = {}
        self.pruning = SweepPruning(state.space) if state.space.prune else None
        self.started = False

    def run(self, first: list[Trial]) -> SweepState:
        state = self.state
        self._admit(first)
        self._admit_more()
        state.write()
        self._start_executor()
        for cb in self.callbacks:
            cb.on_sweep_begin(state)
        clean = False
        lost: ExecutorLost | None = None
        try:
            while self.todo or self.running:
                self._fill()
                self._step()
                self._admit_more()
                if not self.started:
                    self._start_executor()
            clean = True
        except (KeyboardInterrupt, ExecutorLost) as exc:  # Ctrl-C, SIGTERM, or the cluster went: resumable
            state.interrupted = True
            marked = self._mark_in_flight("interrupted")
            if isinstance(exc, ExecutorLost):
                lost = type(exc)(
                    f"{exc}; {state.count(*FINISHED)} of {state.total} trials finished, {marked} in flight "
                    f"marked interrupted; resume with 'nnctl sweep resume {state.path}'"
                )
        finally:
            if self.started:
                self.executor.shutdown(kill=not clean)  # after Ctrl-C or an error: stop workers mid-trial
        for cb in self.callbacks:
            cb.on_sweep_end(state)
        if lost is not None:
            raise lost from None
        return state

    # --- trials in --------------------------------------------------------------------------------
    def _admit(self, trials: list[Trial]) -> None:
        """Add trials to the sweep: those that ended in an earlier run are read back, the rest queued."""
        state = self.state
        for trial in trials:
            self.index[trial.trial_id] = len(state.trials)
            state.trials.append(trial)
            record, damage = read_trial_record(state.path, trial.trial_id)
            if damage:
                state.damaged[trial.trial_id] = damage
            metrics = (record.metrics or None) if record is not None else None
            status = (metrics or {}).get("status") or PENDING
            if status in FINISHED or (status == FAILED and not self.retry_failed):
                state.rows[trial.trial_id] = _row(trial, status, metrics)
                state.skipped += 1
                if self.pruning is not None:
                    self.pruning.restore(self.index[trial.trial_id], record.curve.to_dict("records"), metrics)
            else:
                state.rows[trial.trial_id] = _row(trial, PENDING)
                self.todo.append(trial)

    def _admit_more(self) -> None:
        while True:
            new = self.source.more(self.state.rows)
            if not new:
                return
            self._admit(new)
            self.state.write()

    def _start_executor(self) -> None:
        if self.todo and not self.started:
            planned = self.state.planned or len(self.state.trials)
            self.executor.start(planned - self.state.skipped)
            self.state.executor = self.executor.describe()
            self.started = True

    # --- running ----------------------------------------------------------------------------------
    def _free(self) -> bool:
        busy = len(self.running)
        if busy < self.executor.slots:
            return True
        # every trial in flight waits for a pruning decision that waits for a queued trial (one
        # whose worker died and runs again): start it beside them, or nothing moves
        blocked = self.pruning is not None and busy and self.pruning.blocked >= busy
        return bool(blocked and getattr(self.executor, "overcommit", False))

    def _fill(self) -> None:
        state, started = self.state, False
        while self.todo and self._free():
            trial = self.todo.popleft()
            task = self._task(trial)
            self.running[self.executor.submit(task)] = (trial, task)
            state.rows[trial.trial_id] = _row(trial, "running")
            started = True
            for cb in self.callbacks:
                cb.on_trial_start(state, trial)
        if started:
            state.write()

    def _task(self, trial: Trial) -> TrialTask:
        task = _task(self.state, trial)
        if self.pruning is not None:
            task.rungs = self.pruning.rungs(self.index[trial.trial_id])
        elif getattr(self.executor, "reports", None) is not None:
            task.rungs = []  # report every epoch: the progress display shows the curves live
        return task

    def _step(self) -> None:
        done = self.executor.wait(list(self.running), timeout=self.poll)
        for future, (trial, _) in list(self.running.items()):
            rows = self.executor.reports(future) if hasattr(self.executor, "reports") else []
            for row in rows:
                if self.pruning is not None:
                    self.pruning.report(self.index[trial.trial_id], row)
                for cb in self.callbacks:
                    cb.on_trial_epoch(self.state, trial, row)
        self._decide()
        for future in done:
            trial, task = self.running.pop(future)
            self._ended(trial, task, self.executor.outcome(future, task))

    def _decide(self) -> None:
        if self.pruning is None:
            return
        decisions = self.pruning.ready(self.state.trials)
        # every trial in flight waits, and what it waits for is queued: a cluster cannot start one
        # more beside them (a local pool can: _free), so the first waiting trial is decided now
        stuck = self.running and self.pruning.blocked >= len(self.running) and self.todo
        if not decisions and stuck and not getattr(self.executor, "overcommit", False):
            decisions = self.pruning.ready(self.state.trials, force=True)
        by_index = {self.index[t.trial_id]: f for f, (t, _) in self.running.items()}
        for index, decision in decisions:
            if index in by_index:
                self.executor.reply(by_index[index], decision)

    def _ended(self, trial: Trial, task: TrialTask, outcome: TrialOutcome) -> None:
        index = self.index[trial.trial_id]
        if outcome.status == WORKER_DIED:
            self.attempts[trial.trial_id] = self.attempts.get(trial.trial_id, 0) + 1
            if self.pruning is not None:
                self.pruning.forget(index)
            # again, first in line, on a fresh worker (a Dask scheduler retries by itself)
            if self.attempts[trial.trial_id] <= getattr(self.executor, "requeues", 0):
                self.state.rows[trial.trial_id] = _row(trial, PENDING, error=outcome.error)
                self.todo.appendleft(trial)
                self.state.write()
                return
        if self.pruning is not None:
            self.pruning.ended(index)
        _record(self.state, trial, outcome, self.callbacks)

    def _mark_in_flight(self, status: str) -> int:
        """The trials in flight when the sweep stopped: what their directories say if they ended
        just before, else ``status``; returns how many were marked ``status``."""
        state, marked = self.state, 0
        for trial in state.trials:
            if state.rows[trial.trial_id]["status"] == "running":
                metrics = trial_metrics(state.path, trial.trial_id)  # written just before the stop?
                done = metrics is not None and metrics.get("status") in (*FINISHED, FAILED)
                state.rows[trial.trial_id] = _row(trial, metrics["status"], metrics) if done else _row(trial, status)
                marked += not done
        state.write()
        return marked


def audit_line(state: SweepState) -> str:
    """What the audit measured: how many audited pruned trials beat the best unpruned one."""
    from ..training.direction import higher_is_better
    from .pruning import audit_summary

    column, _ = score_column(state.monitor)
    rows = [state.rows[t.trial_id] for t in state.trials]
    return audit_summary(rows, column, higher_is_better(state.monitor)).line()


def resume_sweep(
    ref: str | Path,
    executor,
    *,
    results_dir: str | Path = "results",
    retry_failed: bool = False,
    callbacks: list[SweepCallback] | None = None,
) -> SweepState:
    """Continue the sweep at ``ref`` (its directory or its id in ``results_dir``) from its sweep.json."""
    space = space_of(ref, results_dir)
    return run_sweep(space, executor, retry_failed=retry_failed, callbacks=callbacks)


def space_of(ref: str | Path, results_dir: str | Path = "results") -> SearchSpace:
    """The search space recorded in a sweep's sweep.json (results_dir set to where the sweep lies)."""
    path = find_sweep(ref, results_dir)
    doc = read_sweep(path)
    spec = dict(doc.get("spec") or {})
    spec["base"] = {**(spec.get("base") or {}), "results_dir": str(path.parent)}
    space = build_space(spec.get("kind", "grid"), spec)
    if sweep_id(space) != doc.get("sweep_id") or path.name != doc.get("sweep_id"):
        raise ConfigError(
            f"'{path}': its sweep.json no longer expands to sweep {doc.get('sweep_id')!r} "
            f"(written by nnctl {doc.get('nnctl', '?')}); start it again with 'nnctl sweep grid/random'"
        )
    return space


def _task(state: SweepState, trial: Trial) -> TrialTask:
    sweep = {"sweep_id": state.sweep_id, "trial_id": trial.trial_id, "point_id": trial.point_id, "params": trial.params}
    given = {**{k: trial.config[k] for k in state.space.base if k in trial.config}, **trial.params}
    return TrialTask(trial.trial_id, trial.config, {"sweep": sweep, "given": given})


def _row(trial: Trial, status: str, metrics: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return sweep_row(trial.trial_id, trial.point_id, trial.params, status, metrics, **extra)


def _record(state: SweepState, trial: Trial, outcome: TrialOutcome, callbacks: list[SweepCallback]) -> None:
    """Write the trial's directory, then its sweep.csv row (in that order: the directory is the truth)."""
    write_trial(state.path, trial.trial_id, outcome.files, document=outcome.document, metrics=outcome.metrics)
    metrics = trial_metrics(state.path, trial.trial_id)  # as written: the same row a resumed sweep reads
    row = _row(trial, outcome.status, metrics, worker=outcome.worker, error=outcome.error)
    state.rows[trial.trial_id] = row
    state.write()
    for cb in callbacks:
        cb.on_trial_end(state, trial, row)
