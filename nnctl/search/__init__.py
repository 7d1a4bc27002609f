"""Hyperparameter search: search spaces and their expansion, executors, and running sweeps."""

from .distributions import Distribution, parse_distribution, split_values
from .executors import DaskExecutor, ExecutorLost, LocalExecutor, make_executor
from .identity import canonical_spec, sweep_id, trial_id
from .space import SearchSpace, Trial, build_space, expand, parse_param
from .specfile import merge_specs, read_spec_file
from .sweep import SweepCallback, SweepState, check_trials, plan, resume_sweep, run_sweep, space_of

__all__ = [
    "Distribution",
    "parse_distribution",
    "split_values",
    "DaskExecutor",
    "ExecutorLost",
    "LocalExecutor",
    "make_executor",
    "SearchSpace",
    "Trial",
    "build_space",
    "canonical_spec",
    "expand",
    "parse_param",
    "sweep_id",
    "trial_id",
    "merge_specs",
    "read_spec_file",
    "SweepCallback",
    "SweepState",
    "check_trials",
    "plan",
    "resume_sweep",
    "run_sweep",
    "space_of",
]
