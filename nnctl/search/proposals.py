"""Where a sweep's trials come from: listed at once (grid, random) or proposed as it runs (tpe).

A tpe sweep proposes point i once every point of the batches before i's has ended; the history it
proposes from is read from the sweep's rows, which are read back from the trial directories, so a
resumed sweep proposes the same points (nnctl/search/tpe.py says why that is a pure function).
"""

from __future__ import annotations

import math
from typing import Any

from ..results.sweeps import score_column
from ..training.direction import higher_is_better
from ..training.status import FAILED, FINISHED, PRUNED, RESULTS, WORKER_DIED
from .space import SearchSpace, Trial, expand, point_trials

ENDED = (*FINISHED, FAILED, WORKER_DIED)


class TrialSource:
    """The trials of a sweep, as many as can be known now (:meth:`more`)."""

    def __init__(self, space: SearchSpace):
        self.space = space
        self.base_cfg = space.base_config()
        self.model_based = space.kind == "tpe"
        self.listed = not self.model_based
        self.points: list[list[Trial]] = []  # tpe: the trials of each point proposed so far

    @property
    def planned(self) -> int | None:
        """How many trials the sweep has in all (tpe: known in advance as points × repeats)."""
        return self.space.trials * self.space.repeats if self.model_based else None

    def more(self, rows: dict[str, dict[str, Any]]) -> list[Trial]:
        """The trials that can be known now and were not returned before."""
        if not self.model_based:
            if not self.listed:
                return []
            self.listed = False
            return expand(self.space)
        new: list[Trial] = []
        batch = self.space.batch
        while len(self.points) < self.space.trials:
            index = len(self.points)
            before = self.points[: (index // batch) * batch]
            if any(rows.get(t.trial_id, {}).get("status") not in ENDED for trials in before for t in trials):
                break  # the history of this point's batch is not complete yet
            point = self._propose(index, [self._finished(trials, rows) for trials in before])
            trials = point_trials(self.space, point, self.base_cfg)
            self.points.append(trials)
            new += trials
        return new

    def _propose(self, index: int, history) -> dict[str, Any]:
        from .tpe import propose

        return propose(
            self.space,
            index,
            history,
            higher_better=higher_is_better(self.base_cfg.monitor),
            batch=self.space.batch,
            startup=self.space.startup,
        )

    def _finished(self, trials: list[Trial], rows: dict[str, dict[str, Any]]):
        """One point of the history: its score is the mean over its seeds' rows."""
        from .tpe import Finished

        column, _ = score_column(self.base_cfg.monitor)
        point = {k: v for k, v in trials[0].params.items() if k != "seed"}
        mine = [rows[t.trial_id] for t in trials]
        values = [r.get(column) for r in mine]
        finite = all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)
        if all(r["status"] in RESULTS for r in mine) and finite:
            return Finished(point, "complete", sum(values) / len(values))
        if any(r["status"] == PRUNED for r in mine) and finite:
            epoch = max(int(r.get("pruned_epoch") or r.get("epochs_run") or 0) for r in mine)
            return Finished(point, "pruned", None, {epoch: sum(values) / len(values)})
        return Finished(point, "failed")
