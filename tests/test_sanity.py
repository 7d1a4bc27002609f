"""Sanity checks: overfitting a tiny batch, and the initial loss against log C."""

import math

import pandas as pd
import pytest
from helpers import invoke

from nnctl.core.errors import ConfigError
from nnctl.training import RunConfig, fit, prepare
from nnctl.training.sanity import (
    InitialLossCheck,
    expected_initial_loss,
    initial_loss_warning,
    overfit_batch,
    unregularized,
)


def test_overfit_eight_digits_reaches_100_percent_quickly():
    result = overfit_batch(RunConfig(data="digits"), 8, max_steps=500)
    assert result.success and result.accuracy == 1.0
    assert 0 < result.steps <= 100
    assert result.losses[-1] < result.losses[0]
    assert "reached 100% training accuracy on 8 samples" in result.message()


def test_zero_learning_rate_is_reported_as_a_failure():
    result = overfit_batch(RunConfig(data="digits", lr=0.0), 8, max_steps=50)
    assert not result.success and result.steps == 50
    assert result.losses[0] == result.losses[-1]  # nothing moved
    assert "did not reach" in result.message() and "bug or a bad configuration" in result.message()


def test_regularization_is_switched_off():
    plain = overfit_batch(RunConfig(data="digits", seed=1), 8)
    regularized = RunConfig(data="digits", seed=1, dropout=0.5, input_dropout=0.2, l1=1e-3, l2=1e-2, augment="shift:1")
    assert unregularized(regularized).dropout == 0 and unregularized(regularized).augment is None
    assert overfit_batch(regularized, 8).losses == plain.losses
    # weight decay of the optimizer and dropout layers written into the model are off too
    decayed = overfit_batch(RunConfig(data="digits", seed=1, optimizer="adamw:weight_decay=0.5"), 8)
    assert decayed.success
    explicit = overfit_batch(RunConfig(data="digits", model="dense:64,relu,dropout:0.9"), 8)
    assert explicit.success


def test_regression_succeeds_when_the_loss_collapses():
    result = overfit_batch(RunConfig(data="sine"), 8, max_steps=1000)
    assert result.success and math.isnan(result.accuracy)
    assert result.loss < 0.01 * result.losses[0]


def test_bad_sizes_are_config_errors():
    with pytest.raises(ConfigError, match="overfit_batch=0"):
        overfit_batch(RunConfig(), 0)
    with pytest.raises(ConfigError, match="more than the"):
        overfit_batch(RunConfig(data="iris"), 10_000)
    with pytest.raises(ConfigError, match="overfit_steps"):
        overfit_batch(RunConfig(), 4, max_steps=0)


def test_cli_overfit_batch_exit_codes(tmp_path):
    ok = invoke("train", "--overfit-batch", "8", "--results-dir", tmp_path)
    assert "reached 100% training accuracy on 8 samples after" in ok.output
    assert not tmp_path.exists() or not any(tmp_path.iterdir())  # a check, not a run
    bad = invoke("train", "--overfit-batch", "8", "--lr", "0", "--overfit-steps", "30", expect=1)
    text = bad.output + (bad.stderr if hasattr(bad, "stderr") else "")
    assert "did not reach 100% training accuracy on 8 samples within 30 steps" in text


def test_initial_loss_rule():
    assert expected_initial_loss("cross_entropy", 10) == pytest.approx(math.log(10))
    assert expected_initial_loss("binary_cross_entropy", 2) == pytest.approx(math.log(2))
    assert expected_initial_loss("mse", 0) is None
    assert initial_loss_warning(2.4, math.log(10)) is None
    assert initial_loss_warning(3.569, math.log(10)) is None  # He init, mlp:256,256, seed 3: textbook
    assert initial_loss_warning(6.9, math.log(10)) is None  # just under 3× log C
    assert "confidently wrong" in initial_loss_warning(7.0, math.log(10))
    assert initial_loss_warning(1.0, math.log(10)) is None  # below log C is no broken setup
    assert "confidently wrong" in initial_loss_warning(float("nan"), math.log(10))
    assert initial_loss_warning(99.0, None) is None


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("model", ["mlp:128,64", "mlp:256,256"])
def test_textbook_initializations_do_not_warn(model, seed):
    """The recommended He init on the default data never trips the initial-loss check."""
    result = fit(prepare(RunConfig(model=model, seed=seed, epochs=0)))
    assert not [w for w in result.warnings if "initial loss" in w], result.warnings


def test_huge_initial_weights_warn_in_sweep_trials_too():
    result = fit(prepare(RunConfig(model="mlp:64", init="normal:std=1", epochs=0)))
    assert any("initial loss" in w for w in result.warnings)


def test_initial_loss_check_callback_warns_for_huge_initial_weights():
    seen = []
    check = InitialLossCheck(on_warning=seen.append)
    result = fit(prepare(RunConfig(model="mlp:64", init="normal:std=3.0", epochs=0)), [check])
    assert len(seen) == 1 and result.warnings.count(seen[0]) == 1
    quiet = InitialLossCheck()
    fit(prepare(RunConfig(model="mlp:64", epochs=0)), [quiet])
    assert quiet.warnings == []


def test_cli_prints_and_records_the_initial_loss_warning(tmp_path):
    res = invoke(
        "train", "--results-dir", tmp_path, "--model", "mlp:64", "--init", "normal:std=3.0", "--epochs", "1", "--quiet"
    )
    text = res.output + (res.stderr if hasattr(res, "stderr") else "")
    assert "warning: initial loss" in text and "log C" in text
    (run_dir,) = list(tmp_path.iterdir())
    metrics = pd.read_csv(run_dir / "metrics.csv").iloc[0]
    assert "initial loss" in str(metrics["warnings"])
