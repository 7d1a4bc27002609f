"""No name, id or spec file makes nnctl write outside --results-dir.

Every test puts the results directory two levels below a scratch directory, so that ``../..``
would land beside it, and then checks that every file created lies inside the results directory
with symlinks resolved.
"""

import os
from pathlib import Path

import pandas as pd
import pytest
from helpers import invoke

FAST = ["--epochs", "1", "--model", "mlp:8"]


@pytest.fixture()
def results(tmp_path) -> Path:
    path = tmp_path / "work" / "deep" / "results"
    path.parent.mkdir(parents=True)
    return path


def created_files(base: Path) -> list[Path]:
    """Every file and symlink below ``base`` (walked without following links)."""
    out = []
    for folder, dirs, files in os.walk(base):
        out += [Path(folder) / name for name in files]
        out += [Path(folder) / name for name in dirs if (Path(folder) / name).is_symlink()]
    return out


def assert_contained(tmp_path: Path, results: Path, allowed_outside: tuple[Path, ...] = ()) -> list[Path]:
    """Every file below ``tmp_path`` lies inside ``results`` (after resolving symlinks); returns them."""
    root = results.resolve()
    inside = []
    for path in created_files(tmp_path):
        if path in allowed_outside or any(a in path.parents for a in allowed_outside):
            continue
        resolved = path.resolve()
        assert resolved.is_relative_to(root), f"{path} -> {resolved} lies outside {root}"
        inside.append(path)
    assert inside, "nothing was written"
    return inside


NAMES = {
    "parent traversal": "../../x",
    "deeper traversal": "../../../../../../../../tmp/escaped",
    "absolute": "/etc/nnctl-escaped",
    "dot dot": "..",
    "dot": ".",
    "nul": "run\x00name",
    "newline": "first\nsecond\r\nthird",
    "unicode": "résumé-日本語-🙂",
    "long within the limit": "n" * 60,
    "separators": "a/b\\c:d*e?f",
    "tilde": "~/escaped",
    "leading dash": "--name",
}


@pytest.mark.parametrize("name", list(NAMES.values()), ids=list(NAMES))
def test_run_names_stay_inside_results_dir(tmp_path, results, name):
    invoke("train", "--results-dir", results, "--quiet", "--name", name, *FAST)
    [run] = results.iterdir()
    assert run.parent == results and run.is_dir() and not run.is_symlink()
    assert len(run.name) <= 100 and "\x00" not in run.name and "\n" not in run.name
    assert all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in run.name), run.name
    files = assert_contained(tmp_path, results)
    assert sorted(p.name for p in files) == [
        "config.json",
        "curve.csv",
        "metrics.csv",
        "preprocessing.json",
        "weights.npz",
    ]
    assert [p.name for p in (tmp_path / "work").iterdir()] == ["deep"]
    assert [p.name for p in (tmp_path / "work" / "deep").iterdir()] == ["results"]


def test_a_name_longer_than_the_limit_is_refused_not_silently_cut(tmp_path, results):
    result = invoke("train", "--results-dir", results, "--quiet", "--name", "n" * 300, *FAST, expect=2)
    assert "has 300 characters; allowed: at most 60" in result.output
    assert not results.exists() or not list(results.iterdir())


def test_names_from_a_config_file_and_lr_find_stay_inside(tmp_path, results):
    config = tmp_path / "run.toml"
    config.write_text('name = "../../../from-config"\nepochs = 1\nmodel = "mlp:8"\n')
    invoke("train", "--results-dir", results, "--quiet", "--config", config)
    invoke("lr-find", "--results-dir", results, "--quiet", "--name", "../../lr", "--model", "mlp:8", "--iters", "20")
    names = [p.name for p in results.iterdir()]
    assert len(names) == 2 and {n.rsplit("-", 1)[-1] for n in names} == {"config", "lr"}
    assert any(n.endswith("-from-config") for n in names)
    assert_contained(tmp_path, results, allowed_outside=(config,))


def test_sweep_ids_from_flags_and_spec_files_stay_inside(tmp_path, results):
    spec = tmp_path / "spec.toml"
    spec.write_text(
        'name = "../../../spec-escape"\n'
        '[base]\nmodel = "mlp:8"\nepochs = 1\nname = "../../base-name"\nresults_dir = "../../elsewhere"\n'
        "[params]\nlr = [0.01, 0.001]\n"
    )
    invoke("sweep", "grid", spec, "--results-dir", results, "-w", "1", "-q")
    invoke(
        "sweep",
        "grid",
        "--results-dir",
        results,
        "--name",
        "/abs/../../flag-escape",
        *FAST,
        "-p",
        "lr=0.01",
        "-w",
        "1",
        "-q",
    )
    sweeps = sorted(p.name for p in results.iterdir())
    assert len(sweeps) == 2 and sweeps[0].startswith("abs-flag-escape-") and sweeps[1].startswith("spec-escape-")
    files = assert_contained(tmp_path, results, allowed_outside=(spec,))
    assert sum(p.name == "weights.npz" for p in files) == 3
    for sweep in results.iterdir():
        assert set(pd.read_csv(sweep / "sweep.csv")["status"]) == {"completed"}
    assert not (tmp_path / "elsewhere").exists() and not (tmp_path / "work" / "elsewhere").exists()


def test_resume_ignores_trial_ids_written_into_sweep_json(tmp_path, results):
    import json

    out = invoke("sweep", "grid", "--results-dir", results, *FAST, "-p", "lr=0.01", "-w", "1", "-q").output
    sweep = Path(out.strip())
    doc = json.loads((sweep / "sweep.json").read_text())
    doc["trials"][0]["trial_id"] = "../../../../tampered"
    (sweep / "sweep.json").write_text(json.dumps(doc))
    for trial in (sweep / "trials").iterdir():
        for f in trial.iterdir():
            f.unlink()
        trial.rmdir()
    invoke("sweep", "resume", sweep.name, "--results-dir", results, "-w", "1", "-q")
    [trial] = (sweep / "trials").iterdir()
    assert trial.name != "tampered" and len(trial.name) == 12
    assert_contained(tmp_path, results)


def test_experiment_names_and_sweep_labels_stay_inside(tmp_path, results):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'name = "../../../exp-escape"\nclaim = "c"\nhypothesis = "h"\nexpect = "val_acc[lr=0.01] > 0"\nmetric = "val_acc"\nrepeats = 3\n'
        '[base]\nmodel = "mlp:8"\nepochs = 1\n[params]\nlr = [0.01, 0.001]\n'
    )
    out = invoke("experiment", "run", exp, "--results-dir", results, "-w", "1").output
    assert "SUPPORTED" in out
    [folder] = results.iterdir()
    assert folder.name == "exp-escape"
    files = assert_contained(tmp_path, results, allowed_outside=(exp,))
    assert any(p.name == "report.md" for p in files) and any(p.name == "sweep.csv" for p in files)


def test_a_symlink_in_the_results_dir_does_not_redirect_a_run(tmp_path, results):
    outside = tmp_path / "outside"
    outside.mkdir()
    results.mkdir()
    (results / "x").symlink_to(outside, target_is_directory=True)
    invoke("train", "--results-dir", results, "--quiet", "--name", "x", *FAST)
    assert not list(outside.iterdir())
    runs = [p for p in results.iterdir() if not p.is_symlink()]
    assert len(runs) == 1 and runs[0].name.endswith("-x")
    assert_contained(tmp_path, results, allowed_outside=(results / "x",))


@pytest.mark.parametrize("where", ["sweep", "trials"])
def test_a_symlink_named_like_the_sweep_is_refused(tmp_path, results, where):
    args = ["--results-dir", results, *FAST, "-p", "lr=0.01", "--name", "planted"]
    dry = invoke("sweep", "grid", *args, "--dry-run").output
    sweep = Path(dry.strip().splitlines()[-1].removeprefix("sweep: "))
    assert sweep.parent == results and sweep.name.startswith("planted-")
    outside = tmp_path / "outside"
    outside.mkdir()
    link = sweep if where == "sweep" else sweep / "trials"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside, target_is_directory=True)
    result = invoke("sweep", "grid", *args, "-w", "1", expect=2)
    err = result.stderr.strip()
    assert err == (
        f"error: '{link}' is a symbolic link; a sweep writes only into real directories inside "
        f"'{results}' (remove it or choose another --results-dir)"
    )
    assert not list(outside.iterdir())


def test_a_symlink_named_like_the_experiment_folder_is_refused(tmp_path, results):
    exp = tmp_path / "exp.toml"
    exp.write_text(
        'name = "planted"\nclaim = "c"\nhypothesis = "h"\nexpect = "val_acc[lr=0.01] > 0"\n'
        '[base]\nmodel = "mlp:8"\nepochs = 1\n[params]\nlr = [0.01]\n'
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    results.mkdir()
    (results / "planted").symlink_to(outside, target_is_directory=True)
    result = invoke("experiment", "run", exp, "--results-dir", results, expect=2)
    assert result.stderr.strip() == (
        f"error: '{results / 'planted'}' is a symbolic link; an experiment's folder "
        "must be a directory inside --results-dir"
    )
    assert not list(outside.iterdir())
