"""One rule for which direction of a metric is better, used by the fit loop, sweeps and compare-runs."""

import pandas as pd
import pytest

from nnctl.results.compare import sort_table
from nnctl.results.sweeps import score_column
from nnctl.training.direction import effective_monitor, higher_is_better, mode


@pytest.mark.parametrize(
    "name", ["val_acc", "train_acc", "test_acc", "best_val_acc", "test_r2", "val_r2", "best_val_acc_mean", "r2"]
)
def test_accuracy_and_r2_are_better_higher(name):
    assert higher_is_better(name) and mode(name) == "max"


@pytest.mark.parametrize("name", ["val_loss", "train_loss", "test_mse", "val_mae", "best_val_loss_mean", "seconds"])
def test_losses_and_errors_are_better_lower(name):
    assert not higher_is_better(name) and mode(name) == "min"


def test_sweep_leaderboard_and_compare_runs_agree_on_r2():
    assert score_column("val_r2") == ("best_val_r2", "max")
    frame = pd.DataFrame({"run": ["a", "b", "c"], "test_r2": [0.2, 0.9, 0.5]})
    assert list(sort_table(frame, by="test_r2")["run"]) == ["b", "c", "a"]


def test_the_monitor_falls_back_once():
    assert effective_monitor("val_acc", has_validation=False, task="classification") == "train_acc"
    assert effective_monitor("val_acc", has_validation=True, task="regression") == "val_loss"
    assert effective_monitor("val_mae", has_validation=True, task="regression") == "val_mae"
