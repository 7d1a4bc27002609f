"""Run directories: the only code that reads or writes results on disk."""

from .runs import RunRecord, RunRecorder, load_run, provenance
from .store import make_run_dir, read_json, read_weights, sanitize_name, write_csv, write_json, write_weights

__all__ = [
    "RunRecord",
    "RunRecorder",
    "load_run",
    "provenance",
    "make_run_dir",
    "read_json",
    "read_weights",
    "sanitize_name",
    "write_csv",
    "write_json",
    "write_weights",
]
