"""End-to-end checks of the core: convergence, determinism, the zero-init symmetry, depth and CNNs."""

import numpy as np
import pytest
from helpers import fit_run


@pytest.mark.parametrize("optimizer", ["momentum:lr=0.1", "adam:lr=0.01"])
@pytest.mark.parametrize("data", ["xor:n=200", "spiral:classes=3,n=300,noise=0.1"])
def test_xor_and_spiral_reach_99_percent_training_accuracy(data, optimizer):
    run, result = fit_run(
        data=data,
        model="mlp:64,64",
        optimizer=optimizer,
        epochs=150,
        batch_size=32,
        val_split=0.0,
        test_split=0.0,
        monitor="train_loss",
        seed=1,
    )
    assert result.status == "completed"
    assert result.final["eval_train_acc"] >= 0.99, result.final


def test_same_seed_gives_identical_weights_after_training():
    def weights(seed):
        run, _ = fit_run(model="mlp:32", epochs=2, dropout=0.2, seed=seed, restore_best=False)
        return run.model.params.copy()

    np.testing.assert_array_equal(weights(3), weights(3))
    assert not np.array_equal(weights(3), weights(4))


def test_zero_init_leaves_hidden_units_identical_after_training():
    """The notes' symmetry: with all weights equal, every hidden unit gets the same gradient."""
    run, result = fit_run(
        model="dense:16,sigmoid,dense:10",
        init="zeros",
        activation="sigmoid",
        optimizer="sgd:lr=0.5",
        epochs=5,
        restore_best=False,
    )
    W1 = run.model.layers[0].params["W"]
    assert np.abs(W1).max() > 0.01  # the weights did move ...
    # ... but every hidden unit is the same, up to float32 rounding (BLAS kernels may sum the
    # columns of one product in different orders)
    np.testing.assert_allclose(W1 - W1[:, :1], 0, atol=1e-3 * np.abs(W1).max())
    W2 = run.model.layers[2].params["W"]
    np.testing.assert_allclose(W2 - W2[:1, :], 0, atol=1e-3 * np.abs(W2).max())
    assert result.final["test_acc"] < 0.5  # one effective hidden unit cannot separate ten digits


def test_digits_cnn_reaches_97_percent():
    _, result = fit_run(
        model="conv:16x3,relu,maxpool:2,flatten,dense:10", optimizer="momentum:lr=0.05", epochs=15, seed=0
    )
    assert result.final["test_acc"] >= 0.97, result.final


def test_residual_connections_make_depth_trainable():
    """20 residual blocks train on digits; the same 40 layers without skips do measurably worse."""
    blocks = "res(dense:32,relu,dense:32,init=zeros)x20"
    plain = ",".join(["dense:32,relu,dense:32,relu"] * 20)
    common = dict(optimizer="momentum:lr=0.01", epochs=15, seed=0)
    _, res = fit_run(model=f"dense:32,relu,{blocks},relu", **common)
    _, flat = fit_run(model=f"dense:32,relu,{plain}", **common)
    assert res.final["test_acc"] >= 0.9, res.final
    assert res.final["test_acc"] > flat.final["test_acc"] + 0.2, (res.final, flat.final)
    assert res.final["eval_train_loss"] < flat.final["eval_train_loss"] / 10


def test_batch_size_full_and_one_are_gradient_descent_and_sgd():
    run, result = fit_run(data="xor:n=40", model="mlp:4", batch_size="full", epochs=3, val_split=0.0, test_split=0.0)
    assert result.steps == 3
    run, result = fit_run(data="xor:n=40", model="mlp:4", batch_size=1, epochs=1, val_split=0.0, test_split=0.0)
    assert result.steps == 40
