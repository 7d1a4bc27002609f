"""The same configuration and seed give the same bytes: run to run, with any number of sweep
workers, and on the local or the Dask executor (wall-clock columns aside)."""

import csv
import io
from pathlib import Path

import pytest
from helpers import invoke

from nnctl.results.store import CURVE_COLUMNS

# the wall-clock columns of curve.csv and metrics.csv; everything else must match exactly
CURVE_TIMING = {"epoch_seconds", "samples_per_second"}
METRICS_TIMING = {"wall_seconds", "train_seconds", "samples_per_second_mean", "started", "finished"}
RUN = ["--model", "mlp:16", "--epochs", "3", "--dropout", "0.1", "--seed", "5"]
AXES = ["-p", "lr=0.01,0.001", "-p", "init=glorot_normal,he_normal"]


def text_without(path: Path, dropped: set[str]) -> str:
    """The CSV file's text with the ``dropped`` columns removed (values compared as written, not parsed)."""
    rows = list(csv.reader(io.StringIO(path.read_text())))
    keep = [i for i, name in enumerate(rows[0]) if name not in dropped]
    return "\n".join(",".join(row[i] for i in keep) for row in rows)


def test_timing_columns_are_the_only_wall_clock_ones():
    assert CURVE_TIMING <= set(CURVE_COLUMNS)
    assert [c for c in CURVE_COLUMNS if c.endswith(("seconds", "_per_second"))] == sorted(CURVE_TIMING)


def test_same_config_and_seed_give_identical_files(tmp_path):
    a = Path(invoke("train", "--results-dir", tmp_path / "a", "--quiet", *RUN).output.strip())
    b = Path(invoke("train", "--results-dir", tmp_path / "b", "--quiet", *RUN).output.strip())
    curve = text_without(a / "curve.csv", CURVE_TIMING)
    assert curve.count("\n") == 4 and curve == text_without(b / "curve.csv", CURVE_TIMING)
    assert text_without(a / "metrics.csv", METRICS_TIMING) == text_without(b / "metrics.csv", METRICS_TIMING)
    assert (a / "weights.npz").read_bytes() == (b / "weights.npz").read_bytes()
    # and another seed gives other numbers (the comparison can fail)
    c = Path(invoke("train", "--results-dir", tmp_path / "c", "--quiet", *RUN[:-1], "6").output.strip())
    assert text_without(c / "curve.csv", CURVE_TIMING) != curve
    assert (c / "weights.npz").read_bytes() != (a / "weights.npz").read_bytes()


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    """One 4-trial sweep run with 1 worker, with 2 workers, and on a 2-worker Dask cluster."""
    root = tmp_path_factory.mktemp("sweeps")
    out = {}
    for label, extra in (("w1", ["-w", "1"]), ("w2", ["-w", "2"])):
        out[label] = Path(
            invoke("sweep", "grid", "--results-dir", root / label, *RUN, *AXES, *extra, "-q").output.strip()
        )
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        out["dask"] = Path(
            invoke(
                "sweep",
                "grid",
                "--results-dir",
                root / "dask",
                *RUN,
                *AXES,
                "--executor",
                "dask",
                "--scheduler",
                cluster.scheduler_address,
                "-q",
            ).output.strip()
        )
    return out


def trial_files(sweep: Path) -> dict[str, tuple[str, str, bytes]]:
    return {
        t.name: (
            text_without(t / "curve.csv", CURVE_TIMING),
            text_without(t / "metrics.csv", METRICS_TIMING),
            (t / "weights.npz").read_bytes(),
        )
        for t in sorted((sweep / "trials").iterdir())
    }


def test_sweep_trials_are_identical_across_worker_counts(sweeps):
    one, two = trial_files(sweeps["w1"]), trial_files(sweeps["w2"])
    assert len(one) == 4 and one.keys() == two.keys()
    assert len({curve for curve, _, _ in one.values()}) == 4  # four different trials
    for trial_id in one:
        assert one[trial_id] == two[trial_id], trial_id
    ignored = METRICS_TIMING | {"worker"}
    assert text_without(sweeps["w1"] / "sweep.csv", ignored) == text_without(sweeps["w2"] / "sweep.csv", ignored)


def test_dask_executor_gives_the_same_trials_as_local(sweeps):
    assert sweeps["dask"].name == sweeps["w1"].name
    local, dask = trial_files(sweeps["w2"]), trial_files(sweeps["dask"])
    assert local.keys() == dask.keys()
    for trial_id in local:
        assert dask[trial_id] == local[trial_id], trial_id
    ignored = METRICS_TIMING | {"worker"}
    assert text_without(sweeps["dask"] / "sweep.csv", ignored) == text_without(sweeps["w2"] / "sweep.csv", ignored)


def test_a_trial_is_the_run_train_writes_for_its_options(tmp_path, sweeps):
    import json

    [trial] = [
        t
        for t in (sweeps["w1"] / "trials").iterdir()
        if json.loads((t / "config.json").read_text())["sweep"]["params"] == {"lr": 0.001, "init": "he_normal"}
    ]
    # a trial runs with one BLAS thread (recorded in its config.json): so does this run
    run = Path(
        invoke(
            "train",
            "--results-dir",
            tmp_path,
            "--quiet",
            *RUN,
            "--lr",
            "0.001",
            "--init",
            "he_normal",
            "--threads",
            "1",
        ).output.strip()
    )
    assert text_without(run / "curve.csv", CURVE_TIMING) == text_without(trial / "curve.csv", CURVE_TIMING)
    assert text_without(run / "metrics.csv", METRICS_TIMING) == text_without(trial / "metrics.csv", METRICS_TIMING)
    assert (run / "weights.npz").read_bytes() == (trial / "weights.npz").read_bytes()
