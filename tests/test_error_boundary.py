"""The CLI's one error boundary: every mistake is one line on stderr with the right exit code.

Bad input to each command (train's own bad flags are in test_train_cli.py) ends with exit code 2,
a runtime failure with 1, an unexpected exception with one ``internal error`` line and 1; no
traceback unless ``--debug`` or ``NNCTL_DEBUG=1`` asks for it.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from helpers import invoke, one_line_error

# a_run (conftest.py): one finished run to point compare-runs and plot at


# --- typed errors from every command: exit 2 ---------------------------------------------------------


def test_unknown_components_name_the_closest_valid_one(tmp_path):
    err = one_line_error("lr-find", "--results-dir", tmp_path, "--optimizer", "adma")
    assert err.startswith("error: unknown optimizer 'adma'; valid: adadelta, adagrad, adam,") and err.endswith(
        "did you mean 'adam'?"
    )
    err = one_line_error("augment-preview", "--augment", "shfit:1", "--out", tmp_path / "a.png")
    assert "unknown augmentation 'shfit'; valid: " in err and err.endswith("did you mean 'shift'?")
    err = one_line_error("list", "optimzers")
    assert err.startswith("error: unknown kind 'optimzers'; valid: datasets,") and err.endswith(
        "did you mean 'optimizers'?"
    )
    err = one_line_error("sweep", "grid", "--results-dir", tmp_path, "-p", "lrr=0.1,0.01")
    assert err.startswith("error: unknown sweep axis 'lrr'; valid: data,") and err.endswith("did you mean 'lr'?")
    assert not tmp_path.joinpath("a.png").exists() and not list(tmp_path.iterdir())


def test_unknown_commands_and_flags_are_usage_errors():
    assert one_line_error("trian").startswith("error: No such command 'trian'. Did you mean 'train'?")
    assert one_line_error("sweep", "gird").startswith("error: No such command 'gird'. Did you mean 'grid'?")
    err = one_line_error("sweep", "grid", "--wokers", "2")
    assert err.startswith("error: No such option: --wokers") and "--workers" in err and err.endswith("--help')")
    err = one_line_error("compare-runs", "x", "--metrc", "val_acc")
    assert err.startswith("error: No such option: --metrc") and "--metric" in err


def test_bad_option_values_say_what_was_received(tmp_path):
    err = one_line_error("sweep", "grid", "--results-dir", tmp_path, "-p", "lr=0.1", "-w", "abc")
    assert err.startswith("error: Invalid value for '--workers' / '-w': ") and "'abc'" in err and "int" in err
    err = one_line_error("sweep", "grid", "--results-dir", tmp_path, "-p", "lr=0.1", "-w", "0")
    assert err == "error: workers=0 is not allowed; expected an integer >= 1"
    err = one_line_error("sweep", "random", "--results-dir", tmp_path, "-p", "lr=0.1,0.2", "--trials", "0")
    assert err.startswith("error: trials=0 is not allowed; expected an integer")
    err = one_line_error("sweep", "grid", "--results-dir", tmp_path, "-p", "lr=0.1", "--executor", "slurm")
    assert err == "error: executor 'slurm' is not allowed; allowed: local, dask"
    err = one_line_error("lr-find", "--results-dir", tmp_path, "--start", "10", "--end", "1")
    assert err == "error: lr-find: end=1.0 is out of range; allowed: 10.0 < end"
    err = one_line_error("augment-preview", "--augment", "shift:1", "--samples", "0", "--out", tmp_path / "a.png")
    assert err.startswith("error: Invalid value for '--samples': 0 is not in the range 1<=x<=32")
    assert not list(tmp_path.iterdir())  # nothing was started


def test_bad_specs_and_spec_files(tmp_path):
    err = one_line_error("summary", "--model", "res(dense:8,relu")
    assert err.startswith("error: model 'res(dense:8,relu'") and "position" in err
    err = one_line_error("sweep", "grid", "--results-dir", tmp_path, "-p", "lr")
    assert err.startswith("error: --param 'lr' is not KEY=VALUES")
    spec = tmp_path / "bad.toml"
    spec.write_text('name = "x"\n[base\nepochs = 1\n')
    err = one_line_error("sweep", "grid", spec, "--results-dir", tmp_path / "r")
    assert err.startswith(f"error: sweep spec '{spec}' cannot be parsed: ") and "line 2" in err
    err = one_line_error("experiment", "run", spec, "--results-dir", tmp_path / "r")
    assert err.startswith(f"error: experiment file '{spec}' cannot be parsed: ")
    claimless = tmp_path / "claim.toml"
    claimless.write_text('claim = "x"\n')
    assert one_line_error("experiment", "run", claimless).startswith(f"error: experiment file '{claimless}' needs")
    assert not (tmp_path / "r").exists()


def test_bad_data_and_missing_files(tmp_path, a_run):
    garbage = tmp_path / "data.npz"
    garbage.write_bytes(b"garbage")
    err = one_line_error("summary", "--data", garbage)
    assert err.startswith(f"error: cannot read '{garbage}' as an .npz archive")
    table = tmp_path / "data.csv"
    table.write_text("a,b,label\n1,2,0\n3,4,1\n")
    err = one_line_error("lr-find", "--results-dir", tmp_path / "r", "--data", table, "--target", "lable")
    assert err == f"error: '{table}' has no column 'lable'; columns: a, b, label; did you mean 'label'?"
    err = one_line_error("experiment", "run", tmp_path / "missing.toml")
    assert err == f"error: experiment file '{tmp_path / 'missing.toml'}' does not exist"
    err = one_line_error("experiment", "list", tmp_path / "nowhere")
    assert err.startswith(f"error: experiment folder '{tmp_path / 'nowhere'}' does not exist")
    err = one_line_error("sweep", "resume", "nope", "--results-dir", tmp_path)
    assert err.startswith("error: no sweep 'nope' (neither a sweep directory nor a sweep id in")
    err = one_line_error("compare-runs", "nope", "--results-dir", a_run.parent)
    assert err.startswith("error: unknown run or sweep 'nope'; runs and sweeps in") and a_run.name in err
    err = one_line_error("plot", "nope", "--results-dir", tmp_path / "none")
    assert err.startswith("error: unknown run or sweep 'nope'; results directory") and "--results-dir" in err
    (tmp_path / "empty").mkdir()
    err = one_line_error("compare-runs", tmp_path / "empty")
    assert err.startswith("error: ") and "holds no runs" in err


def test_unreadable_run_files_are_data_errors(tmp_path, a_run):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("[1, 2]")
    err = one_line_error("compare-runs", broken)
    assert err == f"error: run '{broken}' is unreadable: config.json: expected a JSON object, got list"
    (broken / "config.json").write_text("{not json")
    assert one_line_error("plot", broken).startswith(
        f"error: run '{broken}' is unreadable: config.json: is not valid JSON"
    )
    empty = tmp_path / "empty-curve"
    empty.mkdir()
    (empty / "config.json").write_text((a_run / "config.json").read_text())
    (empty / "curve.csv").write_text("")
    assert one_line_error("plot", empty) == f"error: run '{empty}' has no curve.csv rows to plot"


def test_metric_and_sort_names_suggest_the_closest(a_run):
    err = one_line_error("compare-runs", a_run, "--metric", "val_accuracy")
    assert err.startswith("error: unknown metric 'val_accuracy'; the runs' curves have: train_loss")
    assert err.endswith("did you mean 'val_acc'?")
    err = one_line_error("compare-runs", a_run, "--sort", "statsu")
    assert err.startswith("error: cannot sort by 'statsu'; columns: run,") and err.endswith("did you mean 'status'?")
    err = one_line_error("compare-runs", a_run, "--target", "val_acc")
    assert err == "error: target 'val_acc' is not allowed; expected METRIC=VALUE, e.g. val_acc=0.95"


def test_incompatible_model_or_data(tmp_path):
    err = one_line_error("summary", "--model", "conv:8x3,relu,flatten", "--data", "iris")
    assert err.startswith("error: layer 1 (conv2d") and "got input shape (4,)" in err
    err = one_line_error("augment-preview", "--augment", "shift:1", "--data", "iris", "--out", tmp_path / "a.png")
    assert err == "error: augment-preview needs image data (C, H, W); 'iris' has input shape (4,)"
    err = one_line_error(
        "sweep", "grid", "--results-dir", tmp_path, "-p", "model=mlp:8;conv:8x3,flatten", "--data", "iris"
    )
    assert err.startswith("error: sweep trial model=conv:8x3,flatten: layer 1 (conv2d")
    assert not list(tmp_path.iterdir())  # checked before any trial ran or anything was written


def test_output_paths_that_cannot_be_written(tmp_path, a_run):
    err = one_line_error("plot", a_run, "--out", tmp_path / "no" / "dir" / "c.png")
    assert (
        err
        == f"error: cannot write '{tmp_path / 'no' / 'dir' / 'c.png'}': directory '{tmp_path / 'no' / 'dir'}' does not exist"
    )
    err = one_line_error("augment-preview", "--augment", "shift:1", "--out", tmp_path / "no" / "a.png")
    assert err == f"error: cannot write '{tmp_path / 'no' / 'a.png'}': directory '{tmp_path / 'no'}' does not exist"
    assert (
        one_line_error("plot", a_run, "--out", tmp_path / "c.jpg")
        == f"error: picture '{tmp_path / 'c.jpg'}' must end in .png or .svg; got '.jpg'"
    )


def test_a_directory_where_the_picture_should_go_is_refused_before_drawing(tmp_path, a_run):
    target = tmp_path / "taken.png"
    target.mkdir()
    err = one_line_error("plot", a_run, "--out", target, code=2)
    assert err.startswith(f"error: '{target}' is a directory; name a file to write")
    assert target.is_dir() and not list(target.iterdir()) and [p.name for p in tmp_path.iterdir()] == ["taken.png"]


# --- unexpected exceptions: one "internal error" line, exit 1; --debug shows the traceback ------------

# a test-only activation registered through the public registry API, in a child process only
BUGGY = textwrap.dedent('''
    import sys
    from nnctl.core.layers.activations import ACTIVATIONS, Activation

    @ACTIVATIONS.register("buggy_test_only")
    class Buggy(Activation):
        """Fails on the first training step (evaluation works)."""

        def forward(self, x, training=False):
            if training:
                raise ZeroDivisionError("test-only failure in a training step")
            return x

        def derivative(self):
            raise AssertionError("never reached")

    from nnctl.cli.app import main
    sys.argv[0] = "nnctl"
    main()
''')


def buggy_train(results: Path, *extra, env=None) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-c",
        BUGGY,
        *extra,
        "train",
        "--results-dir",
        str(results),
        "--epochs",
        "2",
        "--model",
        "mlp:8",
        "--activation",
        "buggy_test_only",
        "--quiet",
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})})


def test_an_unexpected_exception_is_one_internal_error_line(tmp_path):
    proc = buggy_train(tmp_path)
    assert proc.returncode == 1, proc
    assert proc.stderr.strip() == (
        "error: internal error: ZeroDivisionError: test-only failure in a training step "
        "(this is a bug in nnctl; rerun with --debug for the traceback)"
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    # the run directory says the run failed (not completed, not running), and nothing half-written is left
    [run] = tmp_path.iterdir()
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "curve.csv", "metrics.csv", "preprocessing.json"]
    metrics = pd.read_csv(run / "metrics.csv").iloc[0]
    assert metrics["status"] == "failed" and metrics["stop_reason"].startswith("ZeroDivisionError: test-only")
    assert list(pd.read_csv(run / "curve.csv")["epoch"]) == [0]


@pytest.mark.parametrize("how", ["--debug", "NNCTL_DEBUG=1"])
def test_debug_shows_the_traceback(tmp_path, how):
    proc = buggy_train(
        tmp_path, *([how] if how == "--debug" else []), env={"NNCTL_DEBUG": "1"} if how != "--debug" else None
    )
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert "in forward" in proc.stderr and "nnctl/training/loop.py" in proc.stderr.replace("\\", "/")
    assert (
        proc.stderr.strip().splitlines()[-1]
        == "error: internal error: ZeroDivisionError: test-only failure in a training step (this is a bug in nnctl)"
    )


def test_debug_shows_the_traceback_of_typed_errors_too(tmp_path):
    for args, env in (
        (["--debug", "summary", "--optimizer", "adma"], None),
        (["summary", "--optimizer", "adma"], {"NNCTL_DEBUG": "1"}),
    ):
        result = invoke(*args, expect=2, env=env)
        assert "Traceback (most recent call last)" in result.stderr and "UnknownComponentError" in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("error: unknown optimizer 'adma'")
    # --debug applies to its own invocation only
    assert "Traceback" not in invoke("summary", "--optimizer", "adma", expect=2).output
    for off in ("0", "", "false"):
        assert "Traceback" not in invoke("summary", "--optimizer", "adma", expect=2, env={"NNCTL_DEBUG": off}).output


def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    """An interrupt that lands while the command's modules are still being imported."""
    script = textwrap.dedent("""
        import sys

        class Interrupt:
            def find_spec(self, name, path=None, target=None):
                if name == "typer":
                    raise KeyboardInterrupt
                return None

        sys.meta_path.insert(0, Interrupt())
        sys.argv = ["nnctl", "list"]
        from nnctl.cli.entry import main
        main()
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 130
    assert proc.stderr == "interrupted\n" and proc.stdout == ""


@pytest.mark.parametrize(
    "args,message",
    [
        (["--data", "spiral:n=1000000000"], "error: spiral: n=1000000000 is out of range; allowed: 3 <= n <= 1000000"),
        (["--data", "blobs:features=100000"], "allowed: 1 <= features <= 1000"),
        (
            ["--epochs", "10000000000"],
            "error: epochs=10000000000 is not allowed; expected an integer from 0 to 1,000,000",
        ),
    ],
)
def test_promised_limits_are_checked_before_allocating(tmp_path, args, message):
    err = one_line_error("train", "--results-dir", tmp_path, *args)
    assert message in err
    assert not list(tmp_path.iterdir())


def test_a_directory_given_as_a_config_or_experiment_file_says_so(tmp_path):
    assert (
        one_line_error("train", "--config", tmp_path)
        == f"error: config file '{tmp_path}' is a directory; expected a TOML or JSON file"
    )
    assert (
        one_line_error("experiment", "run", tmp_path)
        == f"error: experiment file '{tmp_path}' is a directory; expected a TOML or JSON file"
    )
