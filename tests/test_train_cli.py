"""`nnctl train` end to end through Typer's CliRunner: outputs, reproducibility, flags, errors."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import invoke, one_line_error

from nnctl.results.store import TIMING_COLUMNS

FAST = ["--epochs", "3", "--model", "mlp:16"]


def train(tmp_path, *args, expect=0):
    """Kept: this file's runs go to tmp_path/results, with no default model or epochs (make_run has them)."""
    return invoke("train", "--results-dir", tmp_path / "results", "--quiet", *args, expect=expect)


def only_run(tmp_path) -> Path:
    runs = sorted((tmp_path / "results").iterdir())
    assert len(runs) == 1, runs
    return runs[0]


def read(run: Path):
    return (
        json.loads((run / "config.json").read_text()),
        pd.read_csv(run / "curve.csv"),
        pd.read_csv(run / "metrics.csv").iloc[0].to_dict(),
    )


def without_timing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in frame.columns if c in TIMING_COLUMNS or c in ("started", "finished")])


def test_train_writes_all_outputs(tmp_path):
    result = train(tmp_path, *FAST, "--name", "first")
    run = only_run(tmp_path)
    assert run.name.endswith("-first")
    assert str(run) in result.output
    config, curve, metrics = read(run)
    assert list(curve["epoch"]) == [0, 1, 2, 3]
    for col in [
        "epoch",
        "step",
        "lr",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "reg_loss",
        "grad_norm",
        "epoch_seconds",
        "samples_per_second",
    ]:
        assert col in curve.columns
    # epoch 0 is measured before any update: close to log(10) for 10 balanced classes
    assert abs(curve["train_loss"][0] - np.log(10)) < 0.5 * np.log(10)
    assert metrics["status"] == "completed"
    assert metrics["epochs_run"] == 3
    for key in ["best_epoch", "best_val_loss", "eval_train_loss", "val_acc", "test_acc", "params", "wall_seconds"]:
        assert key in metrics
    cfg = config["config"]
    # init=auto is a rule, recorded as such; each layer's initializer is in the layer list
    assert cfg["init"] == "auto" and cfg["loss"].startswith("cross_entropy")
    dense = [layer for layer in config["layers"] if layer["type"] == "dense"]
    assert [layer["init"] for layer in dense] == ["he_normal"] * (len(dense) - 1) + ["glorot_uniform"]
    assert cfg["optimizer"].startswith("adam:lr=0.001")
    assert config["provenance"]["numpy"] == np.__version__
    assert [layer["type"] for layer in config["layers"]] == ["dense", "relu", "dense"]
    with np.load(run / "weights.npz", allow_pickle=False) as w:
        assert sum(w[k].size for k in w.files if "running" not in k) == metrics["params"]


def test_same_seed_same_results_and_config_replay(tmp_path):
    train(tmp_path / "a", *FAST, "--seed", "7", "--dropout", "0.1")
    train(tmp_path / "b", *FAST, "--seed", "7", "--dropout", "0.1")
    a, b = only_run(tmp_path / "a"), only_run(tmp_path / "b")
    ca, cb = read(a)[1], read(b)[1]
    pd.testing.assert_frame_equal(without_timing(ca), without_timing(cb))
    ma = pd.read_csv(a / "metrics.csv")
    mb = pd.read_csv(b / "metrics.csv")
    pd.testing.assert_frame_equal(without_timing(ma), without_timing(mb))
    train(tmp_path / "c", "--config", str(a / "config.json"))
    cc = read(only_run(tmp_path / "c"))[1]
    pd.testing.assert_frame_equal(without_timing(ca), without_timing(cc))
    train(tmp_path / "d", *FAST, "--seed", "8", "--dropout", "0.1")
    assert not read(only_run(tmp_path / "d"))[1]["val_loss"].equals(ca["val_loss"])


def test_toml_config_with_flag_override(tmp_path):
    cfg = tmp_path / "run.toml"
    cfg.write_text('model = "mlp:8"\nepochs = 5\noptimizer = "sgd"\nlr = 0.1\nbatch_size = 16\n')
    train(tmp_path, "--config", str(cfg), "--epochs", "2")
    config, curve, _ = read(only_run(tmp_path))
    assert config["config"]["epochs"] == 2 and config["config"]["optimizer"] == "sgd:lr=0.1,weight_decay=0.0"
    assert config["config"]["batch_size"] == 16
    assert len(curve) == 3


def test_every_flag_is_accepted_and_recorded(tmp_path):
    train(
        tmp_path,
        "--data",
        "iris",
        "--val-split",
        "0.2",
        "--test-split",
        "0.2",
        "--no-standardize",
        "--model",
        "mlp:8,8",
        "--activation",
        "tanh",
        "--init",
        "glorot_normal",
        "--bias-init",
        "constant:0.01",
        "--dropout",
        "0.1",
        "--input-dropout",
        "0.05",
        "--batch-norm",
        "--dtype",
        "float64",
        "--loss",
        "cross_entropy:label_smoothing=0.1",
        "--optimizer",
        "momentum:momentum=0.8",
        "--lr",
        "0.05",
        "--schedule",
        "step_decay:step_size=2,gamma=0.5",
        "--clip-norm",
        "5",
        "--clip-value",
        "1",
        "--l1",
        "1e-5",
        "--l2",
        "1e-4",
        "--epochs",
        "4",
        "--batch-size",
        "full",
        "--early-stopping",
        "10",
        "--monitor",
        "val_acc",
        "--min-delta",
        "0.001",
        "--no-restore-best",
        "--seed",
        "3",
        "--name",
        "all flags",
        "--task",
        "classification",
    )
    config, curve, metrics = read(only_run(tmp_path))
    c = config["config"]
    assert c["data"] == "iris" and c["standardize"] is False and c["batch_norm"] is True
    assert c["dtype"] == "float64" and c["batch_size"] == "full" and c["restore_best"] is False
    assert c["optimizer"].startswith("momentum:lr=0.05,momentum=0.8")
    assert c["schedule"] == "step_decay:step_size=2,gamma=0.5"
    assert c["clip_norm"] == 5 and c["clip_value"] == 1 and c["l1"] == 1e-5 and c["l2"] == 1e-4
    assert c["name"] == "all flags" and only_run(tmp_path).name.endswith("all-flags")
    assert list(curve["step"]) == [0, 1, 2, 3, 4]  # full batch: one step per epoch
    assert curve["lr"].tolist()[1:] == pytest.approx([0.05, 0.05, 0.025, 0.025])
    assert (curve["reg_loss"][1:] > 0).all()
    layer_types = [layer["type"] for layer in config["layers"]]
    assert layer_types[:4] == ["dropout", "dense", "batch_norm", "tanh"]
    assert metrics["status"] in ("completed", "early_stopped")


def test_stochastic_batch_size_one(tmp_path):
    train(
        tmp_path, "--data", "xor:n=40", "--epochs", "1", "--model", "mlp:4", "--batch-size", "1", "--val-split", "0.1"
    )
    curve = read(only_run(tmp_path))[1]
    n_train = json.loads((only_run(tmp_path) / "config.json").read_text())["data"]["n_train"]
    assert curve["step"].iloc[-1] == n_train


def test_early_stopping_restores_best(tmp_path):
    # a high learning rate on a small model overfits fast; patience 2 stops the run
    train(
        tmp_path,
        "--data",
        "digits",
        "--model",
        "mlp:64",
        "--lr",
        "0.01",
        "--epochs",
        "60",
        "--early-stopping",
        "2",
        "--monitor",
        "val_loss",
    )
    run = only_run(tmp_path)
    _, curve, metrics = read(run)
    assert metrics["status"] == "early_stopped"
    assert metrics["epochs_run"] < 60
    best = int(metrics["best_epoch"])
    assert best == int(curve["val_loss"].idxmin())
    assert metrics["epochs_run"] - best == 2
    assert metrics["restored_best"] in (True, "True")
    assert metrics["val_loss"] == pytest.approx(curve["val_loss"][best], rel=1e-6)


def test_divergence_is_reported(tmp_path):
    result = train(tmp_path, "--optimizer", "sgd", "--lr", "1e6", "--epochs", "5", "--model", "mlp:32", expect=1)
    run = only_run(tmp_path)
    metrics = read(run)[2]
    assert metrics["status"] == "diverged"
    assert "epoch 1" in metrics["stop_reason"] and "batch" in metrics["stop_reason"]
    assert "lower the learning rate" in result.output


def test_regression_run_reports_mse_mae_r2(tmp_path):
    train(tmp_path, "--data", "sine:n=200", "--model", "mlp:16", "--epochs", "3", "--monitor", "val_loss")
    _, curve, metrics = read(only_run(tmp_path))
    assert "val_mae" in curve.columns and "train_acc" not in curve.columns
    for key in ("test_mse", "test_mae", "test_r2"):
        assert key in metrics


def test_csv_npz_and_idx_sources(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    y = (X[:, 0] > 0).astype(int)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = np.where(y == 1, "yes", "no")
    frame.to_csv(tmp_path / "d.csv", index=False)
    train(tmp_path / "csv", "--data", str(tmp_path / "d.csv"), "--target", "label", *FAST)
    assert read(only_run(tmp_path / "csv"))[0]["data"]["classes"] == ["no", "yes"]
    np.savez(tmp_path / "d.npz", X=X, y=y)
    train(tmp_path / "npz", "--data", str(tmp_path / "d.npz"), *FAST)
    from nnctl.data.idx import write_idx

    mnist = tmp_path / "mnist"
    mnist.mkdir()
    images = rng.integers(0, 256, (60, 28, 28), dtype=np.uint8)
    labels = (np.arange(60) % 10).astype(np.uint8)
    write_idx(mnist / "train-images-idx3-ubyte.gz", images[:40])
    write_idx(mnist / "train-labels-idx1-ubyte.gz", labels[:40])
    write_idx(mnist / "t10k-images-idx3-ubyte", images[40:])
    write_idx(mnist / "t10k-labels-idx1-ubyte", labels[40:])
    train(
        tmp_path / "idx",
        "--data",
        f"mnist:path={mnist}",
        "--epochs",
        "1",
        "--model",
        "mlp:8",
        "--val-split",
        "0.2",
        "--test-split",
        "0.2",
    )
    assert read(only_run(tmp_path / "idx"))[0]["data"]["input_shape"] == [1, 28, 28]


def test_python_module_entry_point(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "nnctl", "train", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--optimizer" in out.stdout


def test_help_lists_every_choice():
    result = invoke("train", "--help", terminal_width=400)
    for word in [
        "adamw",
        "nadam",
        "he_normal",
        "orthogonal",
        "leaky_relu",
        "one_cycle",
        "reduce_on_plateau",
        "huber",
        "spiral",
        "breast_cancer",
    ]:
        assert word in result.output, word


def test_list_and_summary_commands():
    result = invoke("list", "optimizers", terminal_width=300)
    assert "adam" in result.output and "beta1=0.9" in result.output
    result = invoke("summary", "--model", "res(dense:32,relu,dense:32)x2", "--data", "iris", terminal_width=200)
    assert "residual" in result.output and "total" in result.output


BAD_INPUTS = [
    (
        ["--optimizer", "adma"],
        "error: unknown optimizer 'adma'; valid: adadelta, adagrad, adam, adamw, momentum, nadam, nesterov, rmsprop, sgd; did you mean 'adam'?",
    ),
    (
        ["--optimizer", "adam:beta3=0.9"],
        "error: optimizer 'adam' has no parameter 'beta3'; valid: lr, beta1, beta2, eps, weight_decay, amsgrad; did you mean 'beta2'?",
    ),
    (["--lr", "-1"], "error: run: lr=-1.0 is out of range; allowed: 0.0 <= lr"),
    (["--dropout", "1.5"], "error: run: dropout=1.5 is out of range; allowed: 0.0 <= dropout < 1.0"),
    (
        ["--optimizer", "momentum:momentum=1.2"],
        "error: momentum: momentum=1.2 is out of range; allowed: 0 <= momentum < 1",
    ),
    (
        ["--batch-size", "0"],
        "error: batch_size=0 is not allowed; expected a positive integer (1 = stochastic) or 'full'",
    ),
    (["--data", "digitz"], "error: unknown dataset 'digitz'"),
    (["--activation", "rleu"], "error: unknown activation 'rleu'"),
    (["--model", "dense:8,,relu"], "error: model 'dense:8,,relu': expected a layer name at position 8"),
    (["--model", "conv:8x3,relu", "--data", "iris"], "error: layer 1 (conv2d"),
    (
        ["--data", "sine", "--loss", "cross_entropy"],
        "error: loss 'cross_entropy' is for classification but dataset 'sine:n=500,noise=0.1' is a regression task; use --loss mse",
    ),
    (
        ["--val-split", "0.6", "--test-split", "0.5"],
        "error: val_split + test_split = 1.1 leaves no training data; allowed: val_split + test_split < 1",
    ),
    (["--epochs", "abc"], "error: epochs='abc' is not allowed; expected an integer"),
    (["--data", "missing.csv"], "error: "),
    (
        ["--monitor", "val_accuracy"],
        "error: run: monitor=val_accuracy is not allowed; valid: val_loss, val_acc, train_loss, train_acc, val_mae; did you mean 'val_acc'?",
    ),
    (["--init", "xavier"], "error: unknown initializer 'xavier'"),
    (["--activation", "step"], "error: cannot train with 'step': its gradient is zero everywhere"),
]


@pytest.mark.parametrize("args, expected", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_gives_one_line_and_exit_code_2(tmp_path, args, expected):
    err = one_line_error("train", "--results-dir", tmp_path / "results", "--epochs", "1", *args)
    assert err.startswith(expected), err
    # nothing that looks like a finished run is left behind
    results = tmp_path / "results"
    for run in results.iterdir() if results.exists() else []:
        metrics = run / "metrics.csv"
        assert not metrics.exists() or pd.read_csv(metrics)["status"][0] != "completed"
