"""Dense, flatten, dropout, batch norm and residual layers; the model's flat buffer and state."""

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, ShapeError
from nnctl.core.gradcheck import build_for_check, check_layer
from nnctl.core.layers.base import LAYERS, layer_from_config
from nnctl.core.model import Model


def get(spec):
    return LAYERS.get(spec)


def test_dense_gradients_float64():
    layer = get("dense:units=5")
    build_for_check(layer, (4,))
    x = np.random.default_rng(1).standard_normal((6, 4))
    errors = check_layer(layer, x, np.random.default_rng(2))
    assert max(errors.values()) < 1e-6, errors


def test_flatten_gradients():
    layer = get("flatten")
    build_for_check(layer, (2, 3, 3))
    x = np.random.default_rng(1).standard_normal((4, 2, 3, 3))
    assert check_layer(layer, x, np.random.default_rng(2))["x"] < 1e-6
    assert layer.output_shape == (18,)


@pytest.mark.parametrize("training", [True, False], ids=["training", "evaluation"])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 4)])
def test_batch_norm_gradients_gamma_beta_input(shape, training):
    """Both modes against finite differences: in evaluation mode the statistics are constants, so
    the input gradient is γ/√(running_var + ε)·dy, not the training formula's."""
    layer = get("batch_norm")
    build_for_check(layer, shape)
    rng = np.random.default_rng(3)
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, layer.params["gamma"].shape)
    layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
    layer.running_mean[...] = rng.standard_normal(layer.running_mean.shape)
    layer.running_var[...] = rng.uniform(0.5, 2.0, layer.running_var.shape)
    x = rng.standard_normal((8, *shape)) * 2 + 1
    errors = check_layer(layer, x, np.random.default_rng(4), training=training)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < 1e-6, errors


def test_batch_norm_evaluation_backward_is_the_affine_map():
    layer = get("batch_norm")
    build_for_check(layer, (4,))
    rng = np.random.default_rng(5)
    layer.params["gamma"][...] = rng.uniform(0.5, 1.5, 4)
    layer.running_var[...] = rng.uniform(0.5, 2.0, 4)
    layer.forward(rng.standard_normal((6, 4)), training=False)
    dy = rng.standard_normal((6, 4))
    expected = layer.params["gamma"] / np.sqrt(layer.running_var + layer.eps) * dy
    np.testing.assert_allclose(layer.backward(dy), expected, rtol=1e-12)


def test_batch_norm_batch_of_one_keeps_the_running_variance():
    """One value per feature says nothing about the spread (PyTorch raises here): the output is β
    and the running variance is not pulled towards zero."""
    layer = get("batch_norm")
    build_for_check(layer, (3,))
    layer.params["beta"][...] = [1.0, 2.0, 3.0]
    for _ in range(20):
        y = layer.forward(np.array([[5.0, -1.0, 2.0]]), training=True)
    np.testing.assert_allclose(y, [[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(layer.running_var, 1.0)
    np.testing.assert_allclose(layer.running_mean, np.array([5.0, -1.0, 2.0]) * (1 - 0.9**20))


def test_batch_norm_uses_running_statistics_in_evaluation():
    layer = get("batch_norm:momentum=0.1")
    build_for_check(layer, (3,))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)) * 3 + 5
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(layer.running_var, 0.9 + 0.1 * x.var(axis=0, ddof=1))
    y_eval = layer.forward(x, training=False)
    expected = (x - layer.running_mean) / np.sqrt(layer.running_var + 1e-5)
    np.testing.assert_allclose(y_eval, expected)


def test_dropout_preserves_expectation_and_is_identity_in_evaluation():
    layer = get("dropout:rate=0.3")
    Model([layer]).build((1000,), np.random.default_rng(0))
    x = np.ones((200, 1000), dtype=np.float32)
    y = layer.forward(x, training=True)
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.01
    assert layer.forward(x, training=False) is x


def test_dropout_gradient_uses_the_same_mask():
    layer = get("dropout:rate=0.5")
    build_for_check(layer, (6,))
    x = np.random.default_rng(0).standard_normal((5, 6))

    def reseed():
        layer.rng = np.random.default_rng(42)

    assert check_layer(layer, x, np.random.default_rng(1), reseed=reseed)["x"] < 1e-6


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_dropout_rate_outside_range_is_rejected(rate):
    with pytest.raises(ConfigError, match=r"rate=.*allowed: 0.0 <= rate < 1.0"):
        get(f"dropout:rate={rate}")


@pytest.mark.parametrize("width_out", [4, 6])
def test_residual_block_gradients(width_out):
    from nnctl.core.layers.activations import ACTIVATIONS

    inner = [get("dense:units=5"), ACTIVATIONS.get("tanh"), get(f"dense:units={width_out}")]
    block = LAYERS.lookup("residual")(layers=inner)
    build_for_check(block, (4,))
    assert block.projected == (width_out != 4)
    x = np.random.default_rng(1).standard_normal((7, 4))
    errors = check_layer(block, x, np.random.default_rng(2))
    inner_errors = {}
    # gradients of the inner layers are checked through the block's own parameters and input
    for layer in inner:
        for name in layer.params:
            from nnctl.core.gradcheck import numerical_gradient, relative_error

            r = np.random.default_rng(2).standard_normal((7, width_out))
            block.forward(x, True)
            block.backward(r.copy())
            analytic = layer.grads[name].copy()
            numeric = numerical_gradient(lambda r=r: float(np.sum(block.forward(x, True) * r)), layer.params[name])
            inner_errors[f"{layer.name}.{name}"] = relative_error(analytic, numeric)
    assert max(errors.values()) < 1e-6, errors
    assert max(inner_errors.values()) < 1e-6, inner_errors


@pytest.mark.parametrize("width_out", [16, 6])
def test_residual_block_on_images_flattens_its_skip(width_out):
    """The README's res(dense:64,relu,dense:64) on 8×8 digits: identity when the sizes agree."""
    from nnctl.core.layers.activations import ACTIVATIONS

    inner = [get("dense:units=5"), ACTIVATIONS.get("tanh"), get(f"dense:units={width_out}")]
    block = LAYERS.lookup("residual")(layers=inner)
    build_for_check(block, (1, 4, 4))
    assert block.flatten_skip and block.projected == (width_out != 16)
    x = np.random.default_rng(1).standard_normal((7, 1, 4, 4))
    errors = check_layer(block, x, np.random.default_rng(2))
    assert max(errors.values()) < 1e-6, errors
    if width_out == 16:
        np.testing.assert_allclose(
            block.forward(x) - x.reshape(7, 16), inner[2].forward(inner[1].forward(inner[0].forward(x))), atol=1e-12
        )


def test_readme_residual_model_trains_on_the_default_data():
    from nnctl.training import RunConfig, fit, prepare

    result = fit(prepare(RunConfig(model="res(dense:64,relu,dense:64)x4", epochs=2)))
    assert result.status == "completed" and result.final["val_acc"] > 0.8


def test_model_places_regularized_weights_first_and_counts_params():
    from nnctl.core.layers.activations import ACTIVATIONS

    model = Model([get("dense:units=3"), ACTIVATIONS.get("relu"), get("dense:units=2")])
    model.build((4,), np.random.default_rng(0))
    assert model.n_params == 4 * 3 + 3 + 3 * 2 + 2
    assert model.n_decay == 4 * 3 + 3 * 2
    w1 = model.layers[0].params["W"]
    assert np.shares_memory(w1, model.params[: model.n_decay])
    assert np.shares_memory(model.layers[0].params["b"], model.params[model.n_decay :])
    assert model.params.dtype == np.float32


def test_same_seed_same_weights_different_seed_different():
    def weights(seed):
        model = Model([get("dense:units=8"), get("dense:units=3")])
        return model.build((5,), np.random.default_rng(seed)).params.copy()

    np.testing.assert_array_equal(weights(1), weights(1))
    assert not np.array_equal(weights(1), weights(2))


def test_dense_flattens_images():
    layer = get("dense:units=3")
    build_for_check(layer, (2, 3, 3))
    x = np.random.default_rng(1).standard_normal((4, 2, 3, 3))
    assert layer.forward(x).shape == (4, 3)
    assert max(check_layer(layer, x, np.random.default_rng(2)).values()) < 1e-6


def test_shape_errors_name_the_layer_and_shapes():
    from nnctl.core.layers.activations import ACTIVATIONS

    model = Model([get("dense:units=4"), ACTIVATIONS.get("maxout:pieces=3")])
    with pytest.raises(ShapeError, match=r"layer 2 \(maxout.*\(4,\)"):
        model.build((5,), np.random.default_rng(0))


def test_state_dict_round_trip_and_layer_configs():
    from nnctl.core.layers.activations import ACTIVATIONS

    def make():
        return Model([get("dense:units=4"), get("batch_norm"), ACTIVATIONS.get("relu"), get("dense:units=2")])

    a = make().build((3,), np.random.default_rng(0))
    a.forward(np.random.default_rng(1).standard_normal((10, 3)).astype(np.float32), training=True)
    b = Model.from_config(a.layer_config()).build((3,), np.random.default_rng(99))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.params, b.params)
    np.testing.assert_array_equal(a.layers[1].running_mean, b.layers[1].running_mean)
    assert [layer_from_config(c).to_config() for c in a.layer_config()] == a.layer_config()


def test_load_state_dict_rejects_other_models():
    a = Model([get("dense:units=4")]).build((3,), np.random.default_rng(0))
    b = Model([get("dense:units=5")]).build((3,), np.random.default_rng(0))
    with pytest.raises(ShapeError, match="shape"):
        b.load_state_dict(a.state_dict())
