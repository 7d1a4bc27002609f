"""The Python API as a notebook calls it, and applying a trained run to new data (predict/evaluate)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nnctl
from nnctl.core.errors import ConfigError, DataError
from nnctl.data.idx import write_idx
from nnctl.data.load import load_dataset
from tests.helpers import invoke, one_line_error

FEATURES = [f"px{i}" for i in range(64)]


@pytest.fixture(scope="module")
def digits_csv(tmp_path_factory) -> Path:
    """The bundled digits as a CSV a user might have: 64 named pixel columns and a 'digit' column."""
    ds = load_dataset("digits", seed=0)
    frame = pd.DataFrame(ds.X.reshape(len(ds.X), -1), columns=FEATURES)
    frame["digit"] = [ds.classes[i] for i in ds.y]
    path = tmp_path_factory.mktemp("data") / "digits.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def api_run(digits_csv, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    run = nnctl.train(data=str(digits_csv), target="digit", model="mlp:32", epochs=4, lr=0.05, results_dir=results)
    return run, results


def test_train_returns_the_run_as_dataframes_and_writes_the_cli_directory(api_run):
    run, results = api_run
    assert run.status == "completed" and run.dir.parent == results
    assert list(run.curve["epoch"]) == [0, 1, 2, 3, 4]
    assert {"val_acc", "train_loss"} <= set(run.curve.columns)
    assert 0.5 < float(run.metrics["test_acc"].iloc[0]) <= 1.0
    assert run.config["model"] == "mlp:32" and run.config["target"] == "digit"
    assert sorted(p.name for p in run.dir.iterdir()) == [
        "config.json",
        "curve.csv",
        "metrics.csv",
        "preprocessing.json",
        "weights.npz",
    ]
    again = nnctl.load_run(run.dir)
    X = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    np.testing.assert_array_equal(again.predict(X), run.predict(X))
    assert again.predict(X).shape == (5, 10) and np.allclose(again.predict(X).sum(axis=1), 1.0, atol=1e-5)
    assert again.classes == [str(d) for d in range(10)]
    assert again.predict_labels(X) == [str(i) for i in np.argmax(again.predict(X), axis=1)]
    with pytest.raises(DataError, match=r"X: inputs of shape \(1, 8, 8\) per sample; the model was trained on \(64,\)"):
        run.predict(X.reshape(5, 1, 8, 8))


def test_runs_is_one_row_per_run_with_its_metrics(api_run):
    run, results = api_run
    table = nnctl.runs(results)
    assert len(table) == 1 and table["run"].iloc[0] == run.dir.name
    assert table["test_acc"].iloc[0] == pytest.approx(float(run.metrics["test_acc"].iloc[0]))
    full = nnctl.runs(results, all_options=True)
    assert full["model"].iloc[0] == "mlp:32" and full["epochs"].iloc[0] == 4


def test_predicting_the_runs_own_test_split_gives_its_test_accuracy_exactly(api_run, tmp_path):
    run, _ = api_run
    out = tmp_path / "pred.csv"
    result = invoke("predict", run.dir, "--out", out)
    assert result.stdout.startswith("359 predictions for ") and "digits.csv (test)" in result.stdout
    pred = pd.read_csv(out, dtype={"prediction": str, "target": str})
    assert list(pred.columns) == ["prediction", *[f"prob_{c}" for c in range(10)], "target"]
    accuracy = float(np.mean(pred["prediction"] == pred["target"]))
    metrics = pd.read_csv(run.dir / "metrics.csv")
    assert accuracy == pytest.approx(float(metrics["test_acc"].iloc[0]), abs=1e-9)
    evaluation = tmp_path / "eval.json"
    invoke("evaluate", run.dir, "--out", evaluation)
    record = json.loads(evaluation.read_text())
    assert record["metrics"]["acc"] == pytest.approx(float(metrics["test_acc"].iloc[0]), abs=1e-9)
    confusion = np.array(record["confusion_matrix"])
    assert confusion.sum() == 359 and np.trace(confusion) == round(accuracy * 359)


def test_a_csv_is_matched_by_column_name_not_position(api_run, digits_csv, tmp_path):
    run, _ = api_run
    frame = pd.read_csv(digits_csv).head(50)
    shuffled = frame[["digit", *FEATURES[::-1]]]
    shuffled.insert(1, "note", "x")  # a column the model does not use
    (tmp_path / "a.csv").write_text(frame.to_csv(index=False))
    (tmp_path / "b.csv").write_text(shuffled.to_csv(index=False))
    invoke("predict", run.dir, tmp_path / "a.csv", "--out", tmp_path / "pa.csv")
    invoke("predict", run.dir, tmp_path / "b.csv", "--out", tmp_path / "pb.csv")
    assert (tmp_path / "pa.csv").read_text() == (tmp_path / "pb.csv").read_text()


def test_data_that_does_not_fit_the_model_is_one_line(api_run, digits_csv, tmp_path):
    run, _ = api_run
    frame = pd.read_csv(digits_csv).head(20)
    frame.drop(columns=["px5"]).to_csv(tmp_path / "missing.csv", index=False)
    err = one_line_error("predict", run.dir, tmp_path / "missing.csv", "--out", tmp_path / "p.csv")
    assert "lacks 1 column(s) the model was trained on: 'px5'" in err
    frame.assign(digit="eleven").to_csv(tmp_path / "classes.csv", index=False)
    err = one_line_error("evaluate", run.dir, tmp_path / "classes.csv", "--out", tmp_path / "e.json")
    assert "class(es) 'eleven' were not among the 10 the model was trained on" in err
    frame.assign(px3="dark").to_csv(tmp_path / "text.csv", index=False)
    err = one_line_error("predict", run.dir, tmp_path / "text.csv", "--out", tmp_path / "p.csv")
    assert "column 'px3' is not numeric" in err
    np.savez(tmp_path / "shape.npz", X=np.zeros((3, 1, 28, 28), np.float32))
    err = one_line_error("predict", run.dir, tmp_path / "shape.npz", "--out", tmp_path / "p.csv")
    assert "inputs of shape (1, 28, 28) per sample; the model was trained on (64,)" in err
    err = one_line_error("predict", run.dir, "--split", "holdout")
    assert err == "error: split 'holdout' is not allowed; allowed: train, val, test, all"
    frame.drop(columns=["digit"]).to_csv(tmp_path / "no_target.csv", index=False)
    err = one_line_error("evaluate", run.dir, tmp_path / "no_target.csv", "--out", tmp_path / "e.json")
    assert "has no targets to evaluate against" in err
    assert not (tmp_path / "p.csv").exists() and not (tmp_path / "e.json").exists()


def test_a_run_trained_on_a_dataset_predicts_npz_and_idx_files(tmp_path):
    run = nnctl.train(data="digits", model="mlp:16", epochs=2, results_dir=tmp_path / "r", seed=3)
    images = load_dataset("digits", seed=0).X[:30]
    np.savez(tmp_path / "x.npz", X=images)
    write_idx(tmp_path / "x-idx3-ubyte", np.round(images[:, 0] / images.max() * 255).astype(np.uint8))
    invoke("predict", run.dir, tmp_path / "x.npz", "--out", tmp_path / "npz.csv")
    invoke("predict", run.dir, tmp_path / "x-idx3-ubyte", "--out", tmp_path / "idx.csv")
    by_npz, by_idx = pd.read_csv(tmp_path / "npz.csv"), pd.read_csv(tmp_path / "idx.csv")
    assert len(by_npz) == len(by_idx) == 30 and "target" not in by_npz.columns
    np.testing.assert_array_equal(by_npz["prediction"], np.argmax(run.predict(images), axis=1))
    # the whole dataset, and its training split (split exactly as the run split it)
    result = invoke("evaluate", run.dir, "digits", "--out", tmp_path / "all.json")
    assert "digits: 1797 samples" in result.stdout
    invoke("evaluate", run.dir, "--split", "train", "--out", tmp_path / "t.json")
    train = json.loads((tmp_path / "t.json").read_text())
    assert train["samples"] == json.loads((run.dir / "config.json").read_text())["data"]["n_train"]


def test_a_regression_run_predicts_values_and_evaluates_mse_mae_r2(tmp_path):
    run = nnctl.train(data="sine", model="mlp:16", epochs=3, results_dir=tmp_path)
    invoke("predict", run.dir, "--out", tmp_path / "p.csv")
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred.columns) == ["prediction", "target"]
    invoke("evaluate", run.dir, "--out", tmp_path / "e.json")
    metrics = json.loads((tmp_path / "e.json").read_text())["metrics"]
    assert metrics["mse"] == pytest.approx(float(np.mean((pred["prediction"] - pred["target"]) ** 2)), rel=1e-4)
    assert set(metrics) == {"loss", "mse", "mae", "r2"}


def test_results_dir_none_trains_in_memory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = nnctl.train(model="mlp:8", epochs=1, results_dir=None)
    assert run.dir is None and run.status == "completed" and len(run.curve) == 2
    assert run.predict(np.zeros((2, 1, 8, 8), np.float32)).shape == (2, 10)
    assert list(tmp_path.iterdir()) == []


def test_api_options_are_checked_like_flags():
    with pytest.raises(ConfigError, match="epoch"):
        nnctl.train(model="mlp:8", epoch=1, results_dir=None)


def test_sweep_returns_its_table(tmp_path):
    frame = nnctl.sweep({"lr": [0.1, 0.01]}, model="mlp:8", epochs=1, results_dir=str(tmp_path), workers=1)
    assert sorted(frame["lr"]) == [0.01, 0.1] and set(frame["status"]) == {"completed"}
    assert Path(frame.attrs["path"]).parent == tmp_path


def test_train_size_keeps_part_of_the_training_split_only(tmp_path):
    def data(*flags):
        run = invoke("train", "--results-dir", tmp_path, "--quiet", "--model", "mlp:8", "--epochs", "1", *flags)
        return json.loads((Path(run.stdout.strip()) / "config.json").read_text())["data"]

    full, small, fraction = data(), data("--train-size", "200"), data("--train-size", "0.25")
    assert small["n_train"] == 200 and fraction["n_train"] == round(0.25 * full["n_train"])
    assert small["n_val"] == full["n_val"] and small["n_test"] == full["n_test"]
    assert len({full["sha256_train"], small["sha256_train"], fraction["sha256_train"]}) == 3
    assert data("--train-size", "200")["sha256_train"] == small["sha256_train"]  # the same seed, the same samples
    err = one_line_error("train", "--results-dir", tmp_path, "--train-size", "99999")
    assert "train_size=99999 is not allowed" in err and "training split" in err


def test_train_size_is_stratified():
    from nnctl.data.split import split_dataset

    ds = load_dataset("digits", seed=0)
    parts = split_dataset(ds, 0.1, 0.2, seed=0, train_size=100)
    counts = np.bincount(parts.y_train, minlength=10)
    assert counts.sum() == 100 and counts.min() >= 9 and counts.max() <= 11


def test_version_and_completion():
    assert invoke("--version").stdout.strip() == f"nnctl {nnctl.__version__}"
    assert "--install-completion" in invoke("--help").stdout


def test_config_records_command_versions_git_state_and_data_hash(tmp_path, monkeypatch):
    repo = tmp_path / "project"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "notes.txt").write_text("a\n")
    subprocess.run([*git, "add", "notes.txt"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(repo)

    def provenance():
        run = Path(invoke("train", "--results-dir", tmp_path / "r", "--quiet", "--epochs", "1").stdout.strip())
        return json.loads((run / "config.json").read_text())

    clean = provenance()
    assert clean["provenance"]["git"] == {"commit": commit, "dirty": False}
    assert clean["provenance"]["nnctl"] == nnctl.__version__ and "blas" in clean["provenance"]
    assert clean["provenance"]["kernels"] == "numpy"  # the default run is small: the NumPy path
    assert isinstance(clean["provenance"]["argv"], list)
    assert len(clean["data"]["sha256_train"]) == 64
    (repo / "notes.txt").write_text("b\n")
    assert provenance()["provenance"]["git"]["dirty"] is True
    monkeypatch.chdir(tmp_path)  # not a repository: no git entry
    run = Path(invoke("train", "--results-dir", tmp_path / "s", "--quiet", "--epochs", "1").stdout.strip())
    assert "git" not in json.loads((run / "config.json").read_text())["provenance"]
