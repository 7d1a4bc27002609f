"""How a run or a trial ended: every status nnctl writes, and which of them count as results.

A run's ``metrics.csv`` holds one of:

``completed``      trained for all its epochs
``early_stopped``  stopped by a rule (early stopping, a schedule's stop threshold)
``diverged``       its loss stopped being finite; the last finite epoch's weights are kept
``pruned``         a sweep's pruner stopped it at a rung epoch (nnctl/search/pruners.py); its curve
                   ends at the rung (or, audited, it was trained to the end to check the pruner)
``interrupted``    stopped by Ctrl-C, SIGTERM or SIGHUP
``failed``         the trial raised (an error in its configuration or its data, a full disk)
``worker_died``    the process running the trial died (the OOM killer, ``kill -9``): not the
                   trial's fault, so ``nnctl sweep resume`` runs it again

and, as read back: ``running`` (its process still holds the run's lock) or ``incomplete`` (it says
running, but no process does: it was killed). A sweep's table also says ``pending`` for a trial
not started yet.
"""

from __future__ import annotations

COMPLETED = "completed"
EARLY_STOPPED = "early_stopped"
DIVERGED = "diverged"
PRUNED = "pruned"
INTERRUPTED = "interrupted"
FAILED = "failed"
WORKER_DIED = "worker_died"
RUNNING = "running"
INCOMPLETE = "incomplete"
PENDING = "pending"

#: trained to their own end: what a sweep ranks
RESULTS = (COMPLETED, EARLY_STOPPED, DIVERGED)
#: results a sweep never runs again (a pruned trial is evidence, kept as it is)
FINISHED = (*RESULTS, PRUNED)
#: every status, in the order pages list them
ALL = (COMPLETED, EARLY_STOPPED, DIVERGED, PRUNED, INTERRUPTED, INCOMPLETE, FAILED, WORKER_DIED, RUNNING, PENDING)
