"""Damaged results are read around, not tripped over: compare-runs, plot, sweep resume and the
report name a run whose files do not form a whole run (garbage or deeply nested config.json, binary,
cut-off or short CSVs, missing or cut-off weights, a directory left by a kill before config.json was
written) and go on with the rest.

Every damage is done to real files on disk, copied from a run ``nnctl train`` wrote."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from helpers import error_line, invoke

import nnctl
from nnctl.results.artifacts import read_run_partial
from nnctl.results.runs import RunRecorder
from nnctl.results.store import RunLock, make_run_dir
from nnctl.training import RunConfig, prepare


def _cut_after(path: Path, marker: str) -> None:
    text = path.read_text()
    path.write_text(text[: text.index(marker) + len(marker)])


def _nested_config(run: Path) -> None:  # too deep for the JSON parser itself
    (run / "config.json").write_text("[" * 100_000 + "]" * 100_000)


def _deep_config(run: Path) -> None:  # parses, but every page or table walking it would recurse too far
    doc = json.loads((run / "config.json").read_text())
    doc["config"]["model"] = json.loads("[" * 200 + "]" * 200)
    (run / "config.json").write_text(json.dumps(doc))


def _short_curve(run: Path) -> None:  # whole lines, but the last epoch is gone
    lines = (run / "curve.csv").read_text().splitlines(keepends=True)
    (run / "curve.csv").write_text("".join(lines[:-1]))


DEEP = "config.json: is not a file nnctl wrote: values are nested more than 64 levels deep"
#: name → (what is done to a copy of a finished 2-epoch run, the problem it is named by)
DAMAGES = {
    "garbage-config": (
        lambda run: (run / "config.json").write_text('{"config": [1, 2'),
        "config.json: is not valid JSON: Expecting ',' delimiter: line 1 column 17 (char 16)",
    ),
    "config-not-options": (
        lambda run: (run / "config.json").write_text('{"config": [1, 2]}'),
        "config.json: expected the run's options as an object under 'config', got list",
    ),
    "nested-config": (_nested_config, DEEP),
    "deep-config": (_deep_config, DEEP),
    "binary-curve": (
        lambda run: (run / "curve.csv").write_bytes(bytes(range(256))),
        "curve.csv: is not a valid CSV file: it holds NUL bytes (binary data)",
    ),
    "not-utf8-curve": (
        lambda run: (run / "curve.csv").write_bytes(b"epoch,lr\n\xff\xfe\x80,1\n"),
        "curve.csv: is not a valid CSV file: byte 0xff at offset 9 is not UTF-8 text (binary data?)",
    ),
    "truncated-curve": (
        lambda run: (run / "curve.csv").write_bytes((run / "curve.csv").read_bytes()[:-7]),
        "curve.csv: the last line is cut off (left out)",
    ),
    "short-curve": (_short_curve, "curve.csv: holds 2 rows, up to epoch 1; metrics.csv says 2 epoch(s) were run"),
    "no-curve": (lambda run: (run / "curve.csv").unlink(), "curve.csv: missing"),
    "truncated-metrics": (
        lambda run: _cut_after(run / "metrics.csv", "\ncompleted,"),
        "metrics.csv: the last line is cut off (left out)",
    ),
    "binary-metrics": (
        lambda run: (run / "metrics.csv").write_bytes(b"\0" * 64),
        "metrics.csv: is not a valid CSV file: it holds NUL bytes (binary data)",
    ),
    "no-weights": (lambda run: (run / "weights.npz").unlink(), "weights.npz: missing"),
    "truncated-weights": (
        lambda run: (run / "weights.npz").write_bytes((run / "weights.npz").read_bytes()[:100]),
        "weights.npz: is not a .npz archive (cut off or overwritten)",
    ),
}
KILLED = "config.json: missing (the run stopped before it wrote anything)"


def copy_run(a_run: Path, results: Path, name: str) -> Path:
    """A copy of the shared finished run under a new run id ending in ``name``."""
    target = make_run_dir(results, name)
    shutil.copytree(a_run, target, dirs_exist_ok=True)
    return target


def damaged_run(a_run: Path, results: Path, damage: str, name: str | None = None) -> Path:
    """A copy of the shared run, damaged as :data:`DAMAGES` says, named ``name`` (default: the damage)."""
    run = copy_run(a_run, results, name or damage)
    DAMAGES[damage][0](run)
    return run


def killed_before_config(results: Path, with_temporary: bool) -> Path:
    """What ``nnctl train`` leaves when killed after making its run directory, before config.json is
    renamed into place: the directory alone, or with the temporary it was writing."""
    run = make_run_dir(results, "killed")
    if with_temporary:
        (run / ".config.json.tmp-4242-a1b2c3").write_text('{"run_id": "')
    return run


def killed_before_first_row(results: Path) -> Path:
    """What a run killed after it began, before its first curve row, leaves: RunRecorder wrote
    config.json and metrics.csv (``running``) and held the lock, which the killed process dropped."""
    cfg = RunConfig(data="iris", model="mlp:4", epochs=1, results_dir=str(results), name="early")
    run = prepare(cfg)
    recorder = RunRecorder(make_run_dir(results, "early"))
    recorder.on_train_begin(run)
    recorder.lock.release()  # the operating system does this when the process dies
    return recorder.dir


def warnings_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_compare_runs_skips_and_names_a_damaged_run_and_shows_the_rest(a_run, tmp_path, name):
    results = tmp_path / "results"
    good = copy_run(a_run, results, "good")
    bad = damaged_run(a_run, results, name)
    before = {p.name: p.read_bytes() for p in bad.iterdir()}
    result = invoke("compare-runs", good, bad)
    assert warnings_of(result) == [f"warning: skipped '{bad}': {DAMAGES[name][1]}"]
    assert good.name in result.stdout and bad.name not in result.stdout
    assert result.stdout.startswith("1 runs (1 unreadable, skipped)")
    assert {p.name: p.read_bytes() for p in bad.iterdir()} == before  # only read


def test_compare_runs_by_name_shows_the_runs_that_can_be_read(a_run, tmp_path):
    results = tmp_path / "results"
    run_a, run_c = copy_run(a_run, results, "runA"), copy_run(a_run, results, "runC")
    run_d = damaged_run(a_run, results, "garbage-config", "runD")
    result = invoke("compare-runs", "runA", "runC", "runD", "--results-dir", results)
    assert warnings_of(result) == [f"warning: skipped '{run_d}': {DAMAGES['garbage-config'][1]}"]
    assert run_a.name in result.stdout and run_c.name in result.stdout and "2 runs (1 unreadable" in result.stdout


@pytest.mark.parametrize("with_temporary", [False, True], ids=["empty", "only-a-temporary"])
def test_a_run_killed_before_config_json_is_named_among_the_others(a_run, tmp_path, with_temporary):
    results = tmp_path / "results"
    good = copy_run(a_run, results, "good")
    killed = killed_before_config(results, with_temporary)
    for args in ([good, killed], [results], ["--results-dir", results, "good", "killed"]):
        result = invoke("compare-runs", *args)
        assert warnings_of(result) == [f"warning: skipped '{killed}': {KILLED}"], args
        assert good.name in result.stdout
    assert error_line(invoke("plot", killed, expect=2)) == f"error: run '{killed}' is unreadable: {KILLED}"


def test_a_run_directory_still_being_started_is_running_not_damaged(a_run, tmp_path):
    results = tmp_path / "results"
    good = copy_run(a_run, results, "good")
    starting = make_run_dir(results, "starting")
    lock = RunLock(starting).acquire()  # as RunRecorder holds it while it writes config.json
    try:
        csv = tmp_path / "table.csv"
        result = invoke("compare-runs", good, starting, "--csv", csv)
        assert result.stderr == ""
        assert pd.read_csv(csv).set_index("run")["status"].to_dict() == {
            good.name: "completed",
            starting.name: "running",
        }
    finally:
        lock.release()
    assert warnings_of(invoke("compare-runs", good, starting)) == [f"warning: skipped '{starting}': {KILLED}"]


def test_a_sweeps_temporary_of_a_trial_being_written_is_not_read_as_a_run(a_run, tmp_path):
    trials = tmp_path / "results" / "grid-0123456789ab" / "trials"
    shutil.copytree(a_run, trials / "0123456789ab")
    shutil.copytree(a_run, trials / ".tmp-0123456789ab-a1b2c3")  # a kill mid-write leaves it half written
    DAMAGES["truncated-curve"][0](trials / ".tmp-0123456789ab-a1b2c3")
    result = invoke("compare-runs", trials.parent)
    assert result.stderr == "" and result.stdout.startswith("1 runs\n") and "0123456789ab" in result.stdout


def test_when_every_run_is_unreadable_that_is_one_error_line(a_run, tmp_path):
    results = tmp_path / "results"
    bad = damaged_run(a_run, results, "no-weights")
    assert (
        error_line(invoke("compare-runs", bad, expect=2)) == f"error: run '{bad}' is unreadable: weights.npz: missing"
    )
    cut = damaged_run(a_run, results, "truncated-metrics")
    killed = killed_before_config(results, with_temporary=False)
    err = error_line(invoke("compare-runs", "--results-dir", results, bad.name, cut.name, killed.name, expect=2))
    assert err == (
        f"error: none of the 3 runs can be read: '{bad}': weights.npz: missing; "
        f"'{cut}': metrics.csv: the last line is cut off (left out); '{killed}': {KILLED}"
    )


@pytest.mark.parametrize("name", sorted(DAMAGES))
def test_plot_of_a_damaged_run_is_one_line_naming_the_damage(a_run, tmp_path, name):
    bad = damaged_run(a_run, tmp_path / "results", name)
    out = tmp_path / "curves.png"
    err = error_line(invoke("plot", bad, "--out", out, expect=2))
    assert err == f"error: run '{bad}' is unreadable: {DAMAGES[name][1]}"
    assert not out.exists() and not (bad / "curves.png").exists()


def test_a_run_killed_before_its_first_curve_row_is_incomplete(a_run, tmp_path):
    results = tmp_path / "results"
    early = killed_before_first_row(results)
    assert sorted(p.name for p in early.iterdir()) == ["config.json", "metrics.csv", "preprocessing.json"]
    csv = tmp_path / "table.csv"
    alone = invoke("compare-runs", early, "--csv", csv)
    assert alone.stderr == "" and pd.read_csv(csv)["status"].tolist() == ["incomplete"]
    good = copy_run(a_run, results, "good")
    invoke("compare-runs", early, good, "--csv", csv, "--force")
    assert pd.read_csv(csv).set_index("run")["status"].to_dict() == {early.name: "incomplete", good.name: "completed"}
    assert error_line(invoke("plot", early, expect=2)) == f"error: run '{early}' has no curve.csv rows to plot"
    record, problems = read_run_partial(early)
    assert problems == [] and record.metrics["status"] == "incomplete"


def test_the_report_names_every_damaged_run_and_shows_the_rest(a_run, tmp_path):
    results = tmp_path / "results"
    good = copy_run(a_run, results, "good")
    bad = {name: damaged_run(a_run, results, name) for name in DAMAGES}
    killed = killed_before_config(results, with_temporary=True)
    early = killed_before_first_row(results)
    invoke("report", "--results-dir", results)
    html = (results / "report.html").read_text()
    pages = json.loads(re.search(r'<script id="nnctl-model" type="application/json">(.*?)</script>', html, re.S)[1])
    pages = pages["runs"]
    assert pages[good.name]["problems"] == [] and pages[good.name]["status"] == "completed"
    for name, run in bad.items():
        assert pages[run.name]["problems"] == [DAMAGES[name][1]], name
    assert pages[killed.name]["problems"] == [KILLED] and pages[killed.name]["status"] == "incomplete"
    assert pages[early.name]["problems"] == [] and pages[early.name]["status"] == "incomplete"


def test_the_python_api_warns_of_the_runs_it_leaves_out(a_run, tmp_path):
    results = tmp_path / "results"
    good = copy_run(a_run, results, "good")
    bad = damaged_run(a_run, results, "short-curve")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = nnctl.runs(results)
    assert frame["run"].tolist() == [good.name]
    assert [str(w.message) for w in caught] == [f"skipped '{bad}': {DAMAGES['short-curve'][1]}"]


# --- sweep resume --------------------------------------------------------------------------------

#: what is done to a finished trial's files, and the problem it is named by when the sweep resumes
TRIAL_DAMAGES = {
    "metrics cut after completed,": (
        lambda t: _cut_after(t / "metrics.csv", "\ncompleted,"),
        "metrics.csv: the last line is cut off (left out)",
    ),
    "weights.npz missing": (lambda t: (t / "weights.npz").unlink(), "weights.npz: missing"),
    "curve.csv missing": (lambda t: (t / "curve.csv").unlink(), "curve.csv: missing"),
    "curve.csv garbled": (
        lambda t: (t / "curve.csv").write_bytes(b"\x89PNG\r\n\x1a\n\0\0garbage"),
        "curve.csv: is not a valid CSV file: it holds NUL bytes (binary data)",
    ),
}


def test_sweep_resume_reruns_the_trials_whose_files_are_no_whole_run(tmp_path):
    args = ["--results-dir", tmp_path, "--quiet", "--data", "iris", "--model", "mlp:4", "--epochs", "2"]
    invoke("sweep", "grid", *args, "-p", "lr=0.1,0.05,0.02,0.01,0.005", "--workers", "1")
    [sweep] = [p for p in tmp_path.iterdir() if (p / "sweep.json").is_file()]
    trials = sorted((sweep / "trials").iterdir())
    kept = trials[-1]
    weights = {t.name: (t / "weights.npz").read_bytes() for t in trials}
    untouched = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept.iterdir()}
    for trial, (damage, _) in zip(trials, TRIAL_DAMAGES.values()):
        damage(trial)
    result = invoke("sweep", "resume", sweep, "--quiet", "--workers", "1")
    expected = [
        f"warning: running trial '{trial}' again: {why}" for trial, (_, why) in zip(trials, TRIAL_DAMAGES.values())
    ]
    assert warnings_of(result) == expected
    for trial in trials:
        record, problems = read_run_partial(trial)
        assert problems == [] and record.metrics["status"] == "completed", trial
        assert (trial / "weights.npz").read_bytes() == weights[trial.name]  # the same trial, run again
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in kept.iterdir()} == untouched
    table = pd.read_csv(sweep / "sweep.csv")
    assert set(table["status"]) == {"completed"} and len(table) == 5
    again = invoke("sweep", "resume", sweep, "--quiet", "--workers", "1")
    assert warnings_of(again) == []  # nothing left to rerun


def test_a_sweep_json_that_is_not_an_object_is_one_line(tmp_path):
    sweep = tmp_path / "broken-0123456789ab"
    sweep.mkdir()
    (sweep / "sweep.json").write_text("[1, 2]")
    err = error_line(invoke("sweep", "resume", sweep, expect=2))
    assert err == f"error: '{sweep / 'sweep.json'}' is not a sweep's sweep.json; expected a JSON object"
