"""Shared fixtures: a small results directory made with real nnctl commands (for the report tests)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

EXPERIMENT = """
name = "tiny-lr"
claim = "A larger learning rate learns faster in three epochs"
hypothesis = "SGD at lr 0.1 moves the weights a hundred times further per step than at lr 0.001."
source = "nnctl's report tests"
expect = "val_acc[lr=0.1] > val_acc[lr=0.001]"
metric = ["train_loss", "val_loss"]
repeats = 3

[base]
data = "digits"
model = "mlp:16"
optimizer = "sgd"
epochs = 3

[params]
lr = [0.1, 0.001]
"""


def _run(args: list[str]) -> None:
    from nnctl.cli.app import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"nnctl {' '.join(args)}: {result.output}"


@pytest.fixture(scope="session")
def results_tree(tmp_path_factory) -> Path:
    """results/ with a run with diagnostics, a 2×2 sweep over 2 seeds, a tiny experiment and a
    two-seed range test, all made by the commands a user types."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    root = tmp_path_factory.mktemp("report") / "results"
    r = ["--results-dir", str(root)]
    _run(
        [
            "train",
            "--diagnostics",
            "--model",
            "mlp:16,16",
            "--activation",
            "tanh",
            "--init",
            "normal:std=1",
            "--epochs",
            "4",
            "--name",
            "diag",
            "--quiet",
            *r,
        ]
    )
    _run(
        [
            "sweep",
            "grid",
            "--name",
            "grid",
            "--model",
            "mlp:8",
            "--optimizer",
            "sgd",
            "--epochs",
            "3",
            "-p",
            "lr=0.1,0.01",
            "-p",
            "init=he_normal;zeros",
            "--repeats",
            "2",
            "-w",
            "1",
            "--quiet",
            *r,
        ]
    )
    spec = root.parent / "tiny_lr.toml"
    spec.write_text(EXPERIMENT)
    _run(["experiment", "run", str(spec), "-w", "1", *r])
    _run(["lr-find", "--model", "mlp:8", "--iters", "30", "--repeats", "2", "--quiet", *r])
    return root
