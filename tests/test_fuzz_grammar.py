"""Fuzzing the --model grammar and building the models it describes.

Properties: a model string parses to nodes or raises an NnctlError; the layers it builds fit a small
input shape or raise an NnctlError (ShapeError, ConfigError, ...) with a one-line message — never an
IndexError, a NumPy error or a MemoryError from absurd sizes, and never an exponential expansion.
A model that builds and is small also runs forward and backward on a batch of two.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from nnctl.core.errors import ConfigError, NnctlError, SpecError
from nnctl.core.grammar import MAX_DEPTH, MAX_LAYERS, Node, build_layers, parse_model
from nnctl.core.initializers import INITIALIZERS
from nnctl.core.layers.activations import ACTIVATIONS
from nnctl.core.layers.base import LAYERS, MAX_OUTPUT_VALUES, MAX_PARAMS
from nnctl.core.model import Model

SHAPES = [(8,), (3,), (1, 8, 8), (2, 5, 5), (1, 1, 1)]
LAYER_NAMES = sorted(set(LAYERS.names(True) + ACTIVATIONS.names(True)) | {"mlp", "act", "res", "residual"})
PARAM_NAMES = sorted({k for reg in (LAYERS, ACTIVATIONS) for n in reg.names() for k in reg.lookup(n).hyperparameters()})
VALUES = [
    "1",
    "2",
    "3",
    "8",
    "16",
    "0",
    "-1",
    "0.5",
    "1.5",
    "1e3",
    "1e999",
    "nan",
    "inf",
    "-0",
    "3x3",
    "16x3",
    "2x2x2",
    "4x0",
    "x",
    "e",
    "999999999999",
    "99999999",
    "9" * 30,
    "9" * 5000,
    "true",
    "none",
    "same",
    "valid",
    "zeros",
    "he_normal",
    "normal",
    "tanh",
    "relu",
]


def one_line(exc: BaseException) -> None:
    """A typed error's message is a single non-empty line."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} without a message"
    assert "\n" not in text and "\r" not in text, f"multi-line message: {text!r}"


def parse_or_typed_error(text: str) -> list[Node] | None:
    """``parse_model(text)``: the nodes, or None after an NnctlError."""
    try:
        nodes = parse_model(text)
    except NnctlError as exc:
        one_line(exc)
        return None
    assert nodes and all(isinstance(n, Node) for n in nodes)
    return nodes


def build_or_typed_error(text: str, shape: tuple[int, ...], n_outputs: int = 3, **flags) -> Model | None:
    """Build the model on ``shape``; run it forward and backward when it is small. None after an NnctlError."""
    try:
        layers = build_layers(text, n_outputs=n_outputs, **flags)
        with np.errstate(over="ignore"):  # normal:std=1e300 overflows float32 weights; not an error
            model = Model(layers).build(shape, np.random.default_rng(0))
    except NnctlError as exc:
        one_line(exc)
        return None
    assert model.n_params <= MAX_PARAMS
    assert model.output_shape == (n_outputs,) or model.layers[-1].name in ACTIVATIONS
    widest = max(int(np.prod(layer.output_shape)) for layer in model.iter_layers())
    if model.n_params <= 20_000 and widest <= 4_000 and len(list(model.iter_layers())) <= 60:
        x = np.random.default_rng(1).standard_normal((2, *shape)).astype(np.float32)
        with np.errstate(all="ignore"):
            try:
                y = model.forward(x, training=True)
                assert y.shape == (2, *model.output_shape)
                model.backward(np.ones_like(y))
            except NnctlError as exc:  # e.g. a step activation refuses to back-propagate
                one_line(exc)
    return model


GOOD_VALUES = [
    "1",
    "2",
    "3",
    "4",
    "8",
    "16",
    "0.5",
    "0.1",
    "3x3",
    "4x2",
    "2x1",
    "true",
    "false",
    "zeros",
    "he_normal",
    "same",
    "valid",
    "1",
    "2",
]
values = st.one_of(
    st.sampled_from(GOOD_VALUES),
    st.sampled_from(GOOD_VALUES),
    st.sampled_from(VALUES),
    st.integers(-2, 40).map(str),
    st.floats(-1, 2).map(repr),
)
#: layer names weighted towards the ones ordinary models are made of
COMMON = [
    "dense",
    "dense",
    "relu",
    "tanh",
    "sigmoid",
    "conv",
    "conv",
    "maxpool",
    "avgpool",
    "flatten",
    "bn",
    "dropout",
    "act",
    "mlp",
    "leaky_relu",
    "maxout",
    "gap",
    "softmax",
    "linear",
    "selu",
    "prelu",
    "gelu",
]


def params_of(name: str) -> dict:
    """The hyperparameters of a layer or activation with their defaults (none for pseudo-layers)."""
    for reg in (LAYERS, ACTIVATIONS):
        if name in reg:
            return {k: v for k, v in reg.lookup(name).hyperparameters().items() if k != "layers"}
    return {}


def value_for(default) -> st.SearchStrategy[str]:
    """Plausible text for a parameter with this default (and now and then an edge value)."""
    if isinstance(default, bool):
        plausible = st.sampled_from(["true", "false"])
    elif isinstance(default, int):
        plausible = st.integers(1, 12).map(str)
    elif isinstance(default, float):
        plausible = st.sampled_from(["0", "0.1", "0.25", "0.5", "0.9", "1", "1e-5"])
    elif isinstance(default, str) and default in INITIALIZERS:
        plausible = st.sampled_from(["zeros", "he_normal", "glorot_uniform", "normal:std=0.1", "orthogonal"])
    else:
        plausible = st.sampled_from(["same", "valid", "1", "none", "tanh", "2"])
    return st.one_of(plausible, plausible, plausible, st.sampled_from(VALUES))


#: per layer name: its parameter names, a strategy for each one's text, and for a few of them
LAYER_PARAMS = {
    name: (
        list(params),
        {k: value_for(d) for k, d in params.items()},
        st.lists(st.sampled_from(list(params)), unique=True, max_size=2) if params else st.just([]),
    )
    for name in set(COMMON) | set(LAYER_NAMES)
    for params in [params_of(name)]
}
LAYER_NAME = st.one_of(st.sampled_from(COMMON), st.sampled_from(COMMON), st.sampled_from(LAYER_NAMES))
REPEATS = st.sampled_from(["", "", "x2", "x3", "X1", "*2", "x0", "x", "x99999999", "x" + "9" * 40])
SEPARATORS = st.sampled_from([",", ",", ",", ",", ", ", ",,", " "])
MLP = st.lists(st.integers(1, 16), min_size=1, max_size=3).map(lambda ws: "mlp:" + ",".join(map(str, ws)))


@st.composite
def layer_item(draw) -> str:
    """A layer with optional values and key=value parameters of its own (sometimes someone else's)."""
    name = draw(LAYER_NAME)
    text = name
    if draw(st.booleans()):
        text += ":" + draw(values)
        for _ in range(draw(st.integers(0, 2))):
            text += "," + draw(st.sampled_from(["1", "2", "8", "0.5", "16"]))
    own = LAYER_PARAMS[name][0]
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from(own)) if own and draw(st.integers(0, 4)) else draw(st.sampled_from(PARAM_NAMES))
        text += f",{key}={draw(values)}"
    return text


@st.composite
def items(draw, depth: int = 0) -> str:
    """One item of a model string: a layer with its parameters, a residual block, or junk."""
    choice = draw(st.integers(0, 11))
    if choice == 0 and depth < 3:
        inner = draw(SEQUENCES[depth + 1])
        return draw(st.sampled_from(["res", "residual", "res", "res", "dense"])) + f"({inner}){draw(REPEATS)}"
    if choice == 1:
        return f"{draw(st.sampled_from(PARAM_NAMES))}={draw(st.sampled_from(VALUES))}"
    if choice == 2:
        return draw(st.sampled_from(VALUES))
    return draw(LAYER_ITEM)


@st.composite
def sequences(draw, depth: int = 0) -> str:
    """Comma-separated items, as a model string (or the inside of a block) holds them."""
    parts = draw(st.lists(ITEMS[depth], min_size=1, max_size=5))
    return draw(SEPARATORS).join(parts)


@st.composite
def plausible_layer(draw) -> str:
    """A real layer with values and parameters of its own types."""
    name = draw(st.sampled_from(COMMON))
    if name == "mlp":
        return draw(MLP)
    keys, texts, some = LAYER_PARAMS[name]
    text = name
    if keys and draw(st.booleans()):
        text += ":" + draw(texts[keys[0]])
    for key in draw(some):
        if key != keys[0] or ":" not in text:
            text += f",{key}={draw(texts[key])}"
    return text


@st.composite
def plausible_models(draw, depth: int = 0) -> str:
    """Model strings most of whose items are well formed, residual blocks included."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 9))
        if kind == 0 and depth < 2:
            parts.append(f"res({draw(PLAUSIBLE[depth + 1])})" + draw(st.sampled_from(["", "x2", "x3", "x1"])))
        elif kind == 1:
            parts.append(draw(ITEMS[depth]))
        else:
            parts.append(draw(PLAUSIBLE_LAYER))
    return ",".join(parts)


LAYER_ITEM, PLAUSIBLE_LAYER = layer_item(), plausible_layer()
ITEMS = {d: items(d) for d in range(4)}
SEQUENCES = {d: sequences(d) for d in range(4)}
PLAUSIBLE = {d: plausible_models(d) for d in range(3)}

#: model strings, sometimes with a stray character at the end (unbalanced brackets are a common typo)
models = st.one_of(
    PLAUSIBLE[0],
    PLAUSIBLE[0],
    st.tuples(SEQUENCES[0], st.sampled_from([""] * 6 + [")", "(", ",", ":", "="])).map("".join),
)


@FUZZ
@given(st.text(max_size=60))
@example("res(" * 2000 + "relu" + ")" * 2000)  # RecursionError before nesting was limited
@example("res(relu)x" + "9" * 5000)  # ValueError: integer string too long
@example("conv:" + "9" * 5000 + "x3")
@example("res(res(res(res(dense:4)x100)x100)x100)x100")  # 10^8 layers before the expansion limit
def test_any_text_parses_or_raises_a_typed_error(text):
    """Any text parses to nodes or raises a typed error, without recursing or expanding."""
    parse_or_typed_error(text)


@FUZZ
@given(
    models,
    st.sampled_from(SHAPES),
    st.sampled_from(ACTIVATIONS.names()),
    st.sampled_from(["auto", "auto", "zeros", "normal:std=1e300", "orthogonal"] + INITIALIZERS.names()),
    st.sampled_from([0.0, 0.0, 0.5]),
    st.booleans(),
)
@example("dense:999999999999,relu", (8,), "relu", "auto", 0.0, False)  # MemoryError: 43.7 TiB
@example("dense:100000,dense:100000,relu", (8,), "relu", "auto", 0.0, False)  # MemoryError: 37 GiB
@example("conv:99999999x3", (1, 8, 8), "relu", "auto", 0.0, False)  # MemoryError: 75 GiB
@example("dense:units=" + "1" * 400, (8,), "relu", "auto", 0.0, False)  # OverflowError in check_range
@example("conv:filters=" + "9" * 30, (1, 8, 8), "relu", "auto", 0.0, False)  # OverflowError in int_param
@example("res(dense:4)x99999999", (8,), "relu", "auto", 0.0, False)  # built 10^8 blocks
@example("res(res(dense))", (1, 8, 8), "relu", "auto", 0.0, False)  # AttributeError: no 'projected'
@example("maxout:3", (8,), "relu", "auto", 0.0, False)
@example("gelu:approximate=none", (8,), "relu", "auto", 0.0, False)
def test_model_strings_build_or_raise_typed_errors(text, shape, activation, init, dropout, batch_norm):
    """Model strings build on small shapes (and run when small) or raise typed errors."""
    if parse_or_typed_error(text) is None:
        return
    build_or_typed_error(text, shape, activation=activation, init=init, dropout=dropout, batch_norm=batch_norm)


@FUZZ
@given(st.text(st.sampled_from(list("resdnlupmaxcov(),:=0123456789 .-")), max_size=40), st.sampled_from(SHAPES))
def test_grammar_alphabet_soup_parses_and_builds_or_raises(text, shape):
    """Strings of the grammar's own characters parse and build, or raise typed errors."""
    if parse_or_typed_error(text) is not None:
        build_or_typed_error(text, shape)


@pytest.mark.parametrize(
    "text, error, words",
    [
        ("dense:999999999999,relu", ConfigError, [str(MAX_OUTPUT_VALUES)]),
        ("dense:100000,dense:100000,relu", ConfigError, ["parameters", str(MAX_PARAMS)]),
        ("res(dense:4)x99999999", SpecError, ["repeat count", str(MAX_LAYERS)]),
        ("res(res(res(dense:4)x100)x100)x100", ConfigError, ["layers", str(MAX_LAYERS)]),
        ("res(" * 40 + "relu" + ")" * 40, SpecError, ["nested", str(MAX_DEPTH)]),
    ],
)
def test_absurd_sizes_are_refused_naming_the_limit(text, error, words):
    """Sizes beyond the limits are refused before anything is allocated, naming the limit."""
    with pytest.raises(error) as err:
        Model(build_layers(text, n_outputs=3)).build((8,), np.random.default_rng(0))
    one_line(err.value)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_limits_leave_ordinary_models_alone():
    """Deep residual stacks and CNNs of the usual sizes still build."""
    model = Model(build_layers("res(dense:64,relu,dense:64)x20", n_outputs=10)).build((64,), np.random.default_rng(0))
    assert len(model.layers) == 21
    cnn = Model(build_layers("conv:16x3,relu,maxpool:2,conv:32x3,relu,maxpool:2,flatten,dense:10", n_outputs=10))
    assert cnn.build((1, 28, 28), np.random.default_rng(0)).output_shape == (10,)


def test_long_model_strings_parse_in_linear_time():
    """A model string with a 20000-digit malformed value is refused at once."""
    start = time.perf_counter()
    with pytest.raises(NnctlError):
        build_layers("dense:" + "1" * 20_000 + "x", n_outputs=3)
    assert time.perf_counter() - start < 0.5
