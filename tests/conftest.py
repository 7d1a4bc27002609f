"""Shared fixtures: one small finished run, and a small results directory for the report tests, both
made with real nnctl commands. The shared functions are in helpers.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.register_assert_rewrite("helpers")

from helpers import invoke, make_run  # noqa: E402  (after the rewrite hook, so its asserts report values)

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


@pytest.fixture(scope="session")
def a_run(tmp_path_factory) -> Path:
    """One finished run (mlp:8, 2 epochs, made by ``nnctl train``) for the commands that read a run.
    Shared by every test that asks for it, so no test may write into it (checked at the end)."""
    run = make_run(tmp_path_factory.mktemp("small-run"), epochs=2)
    before = _contents(run.parent)
    yield run
    assert _contents(run.parent) == before, "a test wrote into the shared a_run"


def _contents(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in folder.rglob("*")}


@pytest.fixture(scope="session")
def results_tree(tmp_path_factory) -> Path:
    """results/ with a run with diagnostics, a 2×2 sweep over 2 seeds, a tiny experiment and a
    two-seed range test, all made by the commands a user types."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    root = tmp_path_factory.mktemp("report") / "results"
    r = ["--results-dir", str(root)]
    invoke(
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
    )
    invoke(
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
    )
    spec = root.parent / "tiny_lr.toml"
    spec.write_text(EXPERIMENT)
    invoke("experiment", "run", spec, "-w", "1", *r)
    invoke("lr-find", "--model", "mlp:8", "--iters", "30", "--repeats", "2", "--quiet", *r)
    return root
