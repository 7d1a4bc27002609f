"""Training-health diagnostics: statistics checked against direct NumPy, and the warning rules."""

import numpy as np
import pandas as pd
import pytest
from helpers import fit_run, invoke, make_run

from nnctl.training import RunConfig, fit, prepare
from nnctl.training.diagnostics import DiagnosticsCollector, symmetry_score

DEEP = "mlp:" + ",".join(["32"] * 10)


def run_with_diagnostics(**options):
    """Kept: fit_run with diagnostics on, and its diagnostics as a table."""
    run, result = fit_run(diagnostics=True, **options)
    frame = pd.DataFrame(result.diagnostics)
    return run, result, frame


def stat(frame, epoch, layer, name):
    rows = frame[(frame.epoch == epoch) & (frame.layer == layer) & (frame.stat == name)]
    assert len(rows) == 1, (layer, name)
    return float(rows.value.iloc[0])


def rules(result):
    return " ".join(result.warnings)


def test_symmetry_score_matches_mean_pairwise_correlation():
    W = np.random.default_rng(0).standard_normal((50, 12))
    corr = np.corrcoef(W.T)
    expected = (corr.sum() - 12) / (12 * 11)
    assert symmetry_score(W) == pytest.approx(expected, abs=1e-10)
    assert symmetry_score(np.zeros((5, 4))) == 1.0
    assert symmetry_score(np.tile(np.arange(5.0)[:, None], (1, 3))) == 1.0


def test_zero_init_gives_symmetry_one_and_a_warning():
    run, result, frame = run_with_diagnostics(
        model="dense:16,sigmoid,dense:16,sigmoid,dense:10", init="zeros", epochs=2
    )
    for epoch in (0, 1, 2):
        assert stat(frame, epoch, "1:dense", "symmetry") == 1.0
    assert "identical" in rules(result) and "1:dense" in rules(result)


def test_zero_init_of_every_layer_warns_at_epoch_0_because_symmetry_cannot_break():
    """--init applies to the added output layer too, so --init zeros zeroes every weight."""
    run, result, frame = run_with_diagnostics(model="mlp:64", activation="tanh", init="zeros", epochs=2)
    assert not run.model.layers[-1].params["W"].any()
    assert "can never break" in rules(result) and "epoch 0" in rules(result)
    assert stat(frame, 2, "1:dense", "symmetry") == 1.0


def test_zero_hidden_weights_under_a_random_output_layer_break_symmetry_and_do_not_warn():
    """Identical units feeding a randomly initialized layer get different gradients at once."""
    _, result, frame = run_with_diagnostics(model="dense:64,tanh,dense:10,init=glorot_uniform", init="zeros", epochs=2)
    assert stat(frame, 0, "1:dense", "symmetry") == 1.0
    assert stat(frame, 1, "1:dense", "symmetry") < 0.5
    assert "identical" not in rules(result)


def test_dropout_breaks_the_symmetry_of_zero_init():
    """... in principle: no warning at epoch 0. With tanh every signal is tanh(0) = 0, so nothing
    moves and the symmetry did not break: that is reported after the epoch; with sigmoid (outputs
    1/2) the masks tell the units apart."""
    _, result, frame = run_with_diagnostics(model="mlp:32", activation="tanh", init="zeros", dropout=0.5, epochs=1)
    assert "can never break" not in rules(result)
    assert "still identical after epoch 1" in rules(result)
    _, result, frame = run_with_diagnostics(model="mlp:32", activation="sigmoid", init="zeros", dropout=0.5, epochs=1)
    assert "identical" not in rules(result) and stat(frame, 1, "1:dense", "symmetry") < 0.99


def test_random_init_is_not_symmetric():
    _, result, frame = run_with_diagnostics(model="mlp:32", epochs=1)
    assert abs(stat(frame, 0, "1:dense", "symmetry")) < 0.1
    assert "identical" not in rules(result)


def test_sigmoid_with_big_random_weights_saturates_and_glorot_does_not():
    _, big, _ = run_with_diagnostics(model=DEEP, activation="sigmoid", init="normal:std=1.0", epochs=1)
    _, glorot, frame = run_with_diagnostics(model=DEEP, activation="sigmoid", init="glorot_normal", epochs=1)
    assert "are saturated" in rules(big)
    assert "are saturated" not in rules(glorot)
    assert stat(frame, 0, "2:sigmoid", "saturated") < 0.05


def test_tanh_with_big_random_weights_saturates_and_glorot_is_healthy():
    _, big, frame = run_with_diagnostics(model=DEEP, activation="tanh", init="normal:std=1.0", epochs=1)
    assert "are saturated" in rules(big)
    assert stat(frame, 0, "2:tanh", "saturated") > 0.5
    _, glorot, _ = run_with_diagnostics(model=DEEP, activation="tanh", init="glorot_normal", epochs=1)
    assert glorot.warnings == []


def test_deep_sigmoid_gradients_vanish():
    """σ' ≤ 1/4: ten sigmoid layers shrink the gradient by ~1e-6 on its way to the first layer."""
    _, result, frame = run_with_diagnostics(model=DEEP, activation="sigmoid", init="glorot_normal", epochs=1)
    assert stat(frame, 0, "model", "grad_ratio_first_last") < 1e-3
    assert "vanish" in rules(result)


def test_large_negative_bias_kills_relu_units():
    _, result, frame = run_with_diagnostics(model="mlp:64", bias_init="constant:-10", epochs=1)
    assert stat(frame, 0, "2:relu", "dead") == 1.0
    assert "dead" in rules(result)


def test_statistics_match_direct_numpy():
    run = prepare(RunConfig(model="mlp:16", activation="tanh", epochs=1))
    collector = DiagnosticsCollector(seed=0)
    fit(run, [collector])
    frame = pd.DataFrame(collector.rows)
    model = run.model
    X = collector.X
    W1, b1 = model.layers[0].params["W"], model.layers[0].params["b"]
    z = X.reshape(len(X), -1) @ W1 + b1
    h = np.tanh(z)
    assert stat(frame, 1, "1:dense", "act_mean") == pytest.approx(float(z.mean()), rel=1e-5)
    assert stat(frame, 1, "2:tanh", "act_std") == pytest.approx(float(h.std()), rel=1e-4)
    saturated = np.mean((h <= -1 + 0.02) | (h >= 1 - 0.02))
    assert stat(frame, 1, "2:tanh", "saturated") == pytest.approx(float(saturated))
    assert stat(frame, 1, "1:dense", "weight_norm") == pytest.approx(float(np.linalg.norm(W1)), rel=1e-5)
    # gradient of the probe's loss with respect to W1, computed directly
    logits = model.forward(X, training=False)
    _, d = run.loss.value_and_grad(logits, collector.y)
    model.backward(d)
    assert stat(frame, 1, "1:dense", "grad_norm") == pytest.approx(
        float(np.linalg.norm(model.layers[0].grads["W"])), rel=1e-4
    )
    ratio = stat(frame, 1, "1:dense", "update_ratio")
    assert 1e-5 < ratio < 1e-1


def test_diagnostics_do_not_change_training():
    def curve(diagnostics):
        run = prepare(RunConfig(model="mlp:32", epochs=2, dropout=0.2, diagnostics=diagnostics))
        return [row["val_loss"] for row in fit(run).curve]

    assert curve(True) == curve(False)


def test_cli_writes_diagnostics_csv_and_warnings(tmp_path):
    result = invoke(
        "train",
        "--diagnostics",
        "--init",
        "zeros",
        "--model",
        "dense:16,sigmoid,dense:10",
        "--epochs",
        "2",
        "--quiet",
        "--results-dir",
        tmp_path,
    )
    run = next(tmp_path.iterdir())
    frame = pd.read_csv(run / "diagnostics.csv")
    assert list(frame.columns) == ["epoch", "layer", "stat", "value"]
    assert set(frame.epoch) == {0, 1, 2}
    metrics = pd.read_csv(run / "metrics.csv").iloc[0]
    assert "identical" in metrics["warnings"]
    assert "warning: epoch 0: hidden units of layer 1:dense start identical" in result.stderr
    assert result.stderr.count("layer 1:dense") == 1  # one symmetry warning per layer


def test_batch_norm_gradient_norms_equal_finite_differences(tmp_path):
    """``nnctl train --diagnostics --batch-norm``: the recorded per-layer gradient norms are those of
    the probe's loss in evaluation mode (the same forward the diagnostics run), checked against
    central differences of that loss in float64 on the weights the run returned."""
    from nnctl.core.gradcheck import numerical_gradient
    from nnctl.results.store import read_json, read_weights
    from nnctl.training.diagnostics import probe_indices

    make_run(
        tmp_path, "--batch-norm", "--diagnostics", "--dtype", "float64", "--no-restore-best", model="mlp:8,6", epochs=2
    )
    run_dir = next(p for p in tmp_path.iterdir() if p.is_dir())
    cfg = RunConfig.from_dict(read_json(run_dir / "config.json")["config"])
    run = prepare(cfg)
    run.model.load_state_dict(read_weights(run_dir / "weights.npz"))
    pick = probe_indices(len(run.splits.X_train), cfg.seed)
    X, y = run.splits.X_train[pick], run.splits.y_train[pick]
    diag = pd.read_csv(run_dir / "diagnostics.csv")
    norms = diag[(diag.epoch == 2) & (diag.stat == "grad_norm")].set_index("layer")["value"]
    dense = [(f"{i + 1}:dense", layer) for i, layer in enumerate(run.model.layers) if layer.name == "dense"]
    assert len(dense) == 3 and any(layer.name == "batch_norm" for layer in run.model.layers)
    for name, layer in dense:
        W = layer.params["W"]
        numeric = numerical_gradient(lambda: float(run.loss.value(run.model.forward(X, training=False), y)), W)
        assert norms[name] == pytest.approx(float(np.linalg.norm(numeric)), rel=1e-6), name


def test_advice_follows_what_measurement_supports():
    """Glorot cures saturated tanh units; for sigmoid networks smaller weights do not help, so the
    advice is another activation; dead ReLUs call for a lower learning rate."""
    _, tanh, _ = run_with_diagnostics(model=DEEP, activation="tanh", init="normal:std=1.0", epochs=0)
    assert "Glorot init keeps its inputs in the linear range" in rules(tanh)
    _, sigmoid, _ = run_with_diagnostics(model=DEEP, activation="sigmoid", init="normal:std=1.0", epochs=0)
    saturated = [w for w in sigmoid.warnings if "saturated" in w]
    assert saturated and all("use tanh with Glorot init or ReLU with He init" in w for w in saturated)
    _, vanishing, _ = run_with_diagnostics(model=DEEP, activation="sigmoid", init="glorot_normal", epochs=0)
    assert "vanish" in rules(vanishing) and "use tanh with Glorot init or ReLU with He init" in rules(vanishing)
    assert "Glorot init or ReLU)" not in rules(sigmoid) + rules(vanishing)
    _, dead, _ = run_with_diagnostics(model="mlp:64", bias_init="constant:-10", epochs=0)
    assert "lower it" in rules(dead) and "leaky" not in rules(dead)
