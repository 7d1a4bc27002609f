"""Running a sweep: check the trials, skip the finished ones, run the rest, record every result.

The driver (this module) keeps at most ``executor.slots`` trials in flight. Each trial runs in a
worker and comes back as data; the driver writes its directory (complete, then renamed into place)
and rewrites ``sweep.csv``. Because the trial directories are the record of what finished, a sweep
resumes by identity: running the same spec again (or ``nnctl sweep resume``) skips every trial whose
directory says it finished, reruns the ones that were in flight, and reruns failed ones only when
asked (``retry_failed``). Progress reaches the caller through :class:`SweepCallback` hooks.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, NnctlError, RunFailure
from ..results.store import RunLock
from ..results.sweeps import (
    FAILED,
    FINISHED,
    clean_scratch,
    find_sweep,
    open_sweep_dir,
    read_sweep,
    read_trial,
    score_column,
    sweep_row,
    trial_metrics,
    write_sweep_csv,
    write_trial,
)
from ..training import RunConfig, prepare
from ..version import __version__
from .distributions import Distribution
from .executors import ExecutorLost
from .identity import canonical_spec, sweep_id
from .space import SearchSpace, Trial, build_space, expand
from .worker import TrialOutcome, TrialTask


class SweepCallback:
    """Hooks a caller can implement (all optional)."""

    def on_sweep_begin(self, state: SweepState) -> None: ...

    def on_trial_start(self, state: SweepState, trial: Trial) -> None: ...

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

    @property
    def axes(self) -> list[str]:
        return list(self.space.params) + (["seed"] if self.space.repeats > 1 else [])

    @property
    def monitor(self) -> str:
        return self.space.base_config().monitor

    def count(self, *statuses: str) -> int:
        return sum(row["status"] in statuses for row in self.rows.values())

    def best(self) -> dict[str, Any] | None:
        """The finished trial with the best monitored metric so far (None before the first)."""
        column, mode = score_column(self.monitor)
        scored = [r for r in self.rows.values() if r["status"] in FINISHED and _finite(r.get(column))]
        if not scored:
            return None
        pick = min if mode == "min" else max
        return pick(scored, key=lambda r: r[column])

    def write(self) -> None:
        write_sweep_csv(self.path, [self.rows[t.trial_id] for t in self.trials], self.axes)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == value and abs(value) != float("inf")


def check_trials(space: SearchSpace, trials: list[Trial]) -> None:
    """Compose (without training) the first trial and that trial with each axis value in turn, so a
    bad value (an unknown optimizer, a model that does not fit the data) fails before anything runs."""
    if not trials:
        return
    reference = RunConfig.from_dict(trials[0].config)
    first = ",".join(f"{k}={v}" for k, v in trials[0].params.items())
    variants: list[tuple[str, dict[str, Any]]] = [(first, {})]
    for group in space.groups():
        values = space.params[group[0]]
        if isinstance(values, Distribution):
            bounds = (int(values.low), int(values.high)) if values.kind == "int" else (values.low, values.high)
            variants += [(f"{group[0]}={b}", {group[0]: b}) for b in bounds]
        else:
            for combo in zip(*(space.params[name] for name in group)):
                change = dict(zip(group, combo))
                variants.append((",".join(f"{k}={v}" for k, v in change.items()), change))
    datasets: dict[tuple, Any] = {}
    for label, change in variants:
        cfg = reference.replace(**change)
        key = (cfg.data, cfg.seed, cfg.target, cfg.task)
        try:
            datasets[key] = prepare(cfg, datasets.get(key)).dataset
        except NnctlError as exc:
            raise type(exc)(f"sweep trial {label}: {exc}" if label else str(exc)) from None


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

    Ctrl-C stops the sweep: finished trials are kept, in-flight ones are marked ``interrupted`` in
    sweep.csv, workers are stopped, and the returned state has ``interrupted=True``. An executor that
    can run nothing more (:class:`~.executors.ExecutorLost`: the Dask scheduler went, or no worker
    joined in time) does the same, then raises its error, which says how to resume.
    """
    callbacks = callbacks or []
    sid, trials = plan(space)
    check_trials(space, trials)
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
        return _run(space, executor, sid, trials, path, retry_failed, callbacks, poll)
    finally:
        lock.release()


def _run(space, executor, sid, trials, path, retry_failed, callbacks, poll) -> SweepState:
    state = SweepState(sid, path, space, trials)
    todo: deque[Trial] = deque()
    for trial in trials:
        metrics, damage = read_trial(path, trial.trial_id)
        if damage:
            state.damaged[trial.trial_id] = damage
        status = (metrics or {}).get("status") or "pending"
        if status in FINISHED or (status == FAILED and not retry_failed):
            state.rows[trial.trial_id] = _row(trial, status, metrics)
            state.skipped += 1
        else:
            state.rows[trial.trial_id] = _row(trial, "pending")
            todo.append(trial)
    state.write()
    if todo:
        executor.start(len(todo))
        state.executor = executor.describe()
    for cb in callbacks:
        cb.on_sweep_begin(state)
    running: dict[Any, tuple[Trial, TrialTask]] = {}
    clean = False
    lost: ExecutorLost | None = None
    try:
        while todo or running:
            started = False
            while todo and len(running) < executor.slots:
                trial = todo.popleft()
                task = _task(state, trial)
                running[executor.submit(task)] = (trial, task)
                state.rows[trial.trial_id] = _row(trial, "running")
                started = True
                for cb in callbacks:
                    cb.on_trial_start(state, trial)
            if started:
                state.write()
            for future in executor.wait(list(running), timeout=poll):
                trial, task = running.pop(future)
                _record(state, trial, executor.outcome(future, task), callbacks)
        clean = True
    except (KeyboardInterrupt, ExecutorLost) as exc:  # Ctrl-C, or the cluster went: resumable
        state.interrupted = True
        marked = _mark_interrupted(state)
        state.write()
        if isinstance(exc, ExecutorLost):
            lost = type(exc)(
                f"{exc}; {state.count(*FINISHED)} of {len(state.trials)} trials finished, {marked} in flight "
                f"marked interrupted; resume with 'nnctl sweep resume {path}'"
            )
    finally:
        executor.shutdown(kill=not clean)  # after Ctrl-C or an error: stop workers mid-trial
    for cb in callbacks:
        cb.on_sweep_end(state)
    if lost is not None:
        raise lost from None
    return state


def _mark_interrupted(state: SweepState) -> int:
    """Mark the trials still ``running`` as ``interrupted`` (unless one's result was written just
    before); returns how many were marked."""
    marked = 0
    for trial in state.trials:
        if state.rows[trial.trial_id]["status"] == "running":
            metrics = trial_metrics(state.path, trial.trial_id)  # written just before the interrupt?
            done = metrics is not None and metrics.get("status") in (*FINISHED, FAILED)
            state.rows[trial.trial_id] = _row(trial, metrics["status"], metrics) if done else _row(trial, "interrupted")
            marked += not done
    return marked


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
