"""What a run returns when it does not end normally: divergence and interruption never hand back
weights that no recorded epoch had, and the test metrics are measured on the weights returned."""

import math

import numpy as np
import pytest
from helpers import fit_run

from nnctl.training import RunConfig, fit, prepare
from nnctl.training.callbacks import Callback


def diverging(**options):
    """Kept: fit_run with a learning rate that makes plain SGD diverge within 20 epochs."""
    return fit_run(optimizer="sgd", lr=1e3, epochs=20, **options)


def test_a_diverged_run_returns_the_best_epochs_weights():
    """Divergence in the epoch right after the best one used to skip the restore: NaN weights."""
    run, result = diverging()
    assert result.status == "diverged" and result.restored_best
    assert np.all(np.isfinite(run.model.params))
    assert result.final["val_loss"] == result.curve[result.best_epoch]["val_loss"]
    assert math.isfinite(result.final["test_loss"])


def test_without_restore_best_a_diverged_run_returns_its_last_finite_epoch():
    run, result = diverging(restore_best=False)
    assert result.status == "diverged" and not result.restored_best
    assert np.all(np.isfinite(run.model.params))
    assert "the last finite one, are returned" in result.stop_reason
    assert result.final["val_loss"] == result.curve[-1]["val_loss"]


class InterruptAt(Callback):
    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_batch_end(self, epoch, batch, n_batches, loss):
        if (epoch, batch) == self.at:
            raise KeyboardInterrupt


def test_ctrl_c_in_the_middle_of_an_epoch_restores_the_best_epoch():
    run = prepare(RunConfig(model="mlp:16", epochs=5))
    result = fit(run, [InterruptAt(3, 5)])
    assert result.status == "interrupted" and result.epochs_run == 2
    assert result.restored_best  # the half-trained third epoch is not what is returned
    assert result.final["val_loss"] == pytest.approx(result.curve[result.best_epoch]["val_loss"], rel=1e-6)
