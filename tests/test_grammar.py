"""The --model grammar: parsing, positions in syntax errors, defaults from flags, output head."""

import numpy as np
import pytest

from nnctl.core.errors import ShapeError, SpecError, UnknownComponentError
from nnctl.core.grammar import build_layers, default_init, parse_model
from nnctl.core.model import Model


def names(layers):
    return [layer.name for layer in layers]


def build(text, input_shape=(4,), n_outputs=3, **kw):
    layers = build_layers(text, n_outputs=n_outputs, **kw)
    return Model(layers).build(input_shape, np.random.default_rng(0))


def test_mlp_shorthand_adds_activation_and_output_layer():
    model = build("mlp:128,64")
    assert names(model.layers) == ["dense", "relu", "dense", "relu", "dense"]
    assert [l.units for l in model.layers if l.name == "dense"] == [128, 64, 3]
    assert model.layers[0].init == "he_normal"  # init=auto follows the activation
    assert model.layers[-1].init == "glorot_uniform"


def test_mlp_flags_batch_norm_dropout_activation_and_image_flatten():
    model = build("mlp:16", input_shape=(1, 8, 8), activation="tanh", batch_norm=True, dropout=0.2, input_dropout=0.1)
    assert names(model.layers) == ["dropout", "dense", "batch_norm", "tanh", "dropout", "dense"]
    assert model.layers[1].init == "glorot_uniform"
    assert model.layers[0].rate == pytest.approx(0.1) and model.layers[4].rate == pytest.approx(0.2)


def test_explicit_layers_with_values_and_keywords():
    model = build("dense:256,bn,relu,dropout:0.5,dense:3")
    assert names(model.layers) == ["dense", "batch_norm", "relu", "dropout", "dense"]
    assert model.layers[3].rate == 0.5
    model = build("dense:8,leaky_relu:alpha=0.2,dense:units=6,init=lecun_normal,relu")
    assert model.layers[1].alpha == 0.2
    assert model.layers[2].units == 6 and model.layers[2].init == "lecun_normal"


def test_residual_blocks_repeat():
    model = build("dense:8,res(dense:8,relu,dense:8)x4")
    assert names(model.layers) == ["dense"] + ["residual"] * 4 + ["dense"]
    assert all(len(b.layers) == 3 for b in model.layers[1:5])
    assert model.layers[1] is not model.layers[2]


def test_act_placeholder_uses_activation_flag():
    model = build("dense:8,act", activation="elu")
    assert names(model.layers) == ["dense", "elu", "dense"]


def test_init_flag_applies_to_layers_without_their_own():
    model = build("dense:8,relu,dense:8,init=zeros,relu", init="lecun_uniform")
    assert model.layers[0].init == "lecun_uniform"
    assert model.layers[2].init == "zeros"


@pytest.mark.parametrize(
    "text, position",
    [("dense:8,,relu", 8), ("res(dense:8", 11), ("dense:8,relu)", 12), ("mlp:", 0), ("res(dense:8)x", 13)],
)
def test_syntax_errors_point_at_the_position(text, position):
    with pytest.raises(SpecError, match=f"position {position}"):
        parse_model(text)


def test_unknown_layer_suggests_closest():
    with pytest.raises(UnknownComponentError, match=r"unknown layer 'dense2'.*position 0.*did you mean 'dense'"):
        build("dense2:8")
    with pytest.raises(UnknownComponentError, match="did you mean 'relu'"):
        build("dense:8,rleu")


def test_unknown_parameter_and_bad_values():
    with pytest.raises(SpecError, match="no parameter 'unit'"):
        build("dense:unit=8")
    with pytest.raises(SpecError, match="positive integers"):
        build("mlp:0")


def test_last_dense_must_match_outputs():
    with pytest.raises(ShapeError, match="dense:3"):
        build("dense:10", n_outputs=3)


def test_default_init_by_activation():
    assert default_init("relu") == "he_normal"
    assert default_init("selu") == "lecun_normal"
    assert default_init("sigmoid") == "glorot_uniform"
    assert default_init("leaky_relu:alpha=0.1") == "he_normal"
