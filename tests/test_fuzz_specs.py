"""Fuzzing the spec-string parser and every component registry.

Property: any spec string either builds a component, whose ``spec()`` rebuilds an equal component,
or raises an NnctlError subclass with a one-line message. Never another exception, never a hang.
"""

from __future__ import annotations

import math
import time

import pytest
from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from nnctl.core.errors import ConfigError, NnctlError, SpecError
from nnctl.core.initializers import INITIALIZERS
from nnctl.core.layers.activations import ACTIVATIONS
from nnctl.core.layers.base import LAYERS
from nnctl.core.losses import LOSSES
from nnctl.core.optimizers import OPTIMIZERS
from nnctl.core.registry import MAX_INT, Component, format_value, parse_value, split_spec
from nnctl.core.regularizers import REGULARIZERS
from nnctl.core.schedules import SCHEDULES
from nnctl.data import DATASETS
from nnctl.data.augment import AUGMENTATIONS, parse_augmentations
from nnctl.data.load import is_file_spec

REGISTRIES = {
    "activation": ACTIVATIONS,
    "dataset": DATASETS,
    "initializer": INITIALIZERS,
    "layer": LAYERS,
    "loss": LOSSES,
    "optimizer": OPTIMIZERS,
    "regularizer": REGULARIZERS,
    "schedule": SCHEDULES,
    "augmentation": AUGMENTATIONS,
}
#: containers hold other layers; they round-trip through their config, not a spec string.
NOT_SPEC_STRINGS = {("layer", "residual")}

#: values that broke parsers before, or sit on the edge of what is allowed.
EDGE_VALUES = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "-inf",
    "+inf",
    "Infinity",
    "1e999",
    "-1e999",
    "1e-400",
    "-0",
    "-0.0",
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "1.5",
    "0.999999",
    "1.0",
    "1e-8",
    "1e308",
    "9" * 30,
    "9" * 400,
    "9" * 4301,
    "1" + "0" * 4400,
    "0x10",
    "1_000",
    "true",
    "false",
    "yes",
    "none",
    "null",
    "",
    " ",
    "=",
    ",",
    ":",
    "x",
    "3x3",
    "16x3x3",
    "\x00",
    "\n",
    "é",
    "١٢",
    "²",
    "ⅷ",
    "30/60/90",
    "1/",
    "/",
    "normal",
    "uniform",
    "truncated_normal",
    "fan_in",
    "fan_out",
    "fan_avg",
    "tanh",
    "epoch",
    "step",
    "min",
    "max",
    "cos",
    "linear",
    "same",
    "valid",
    "he_normal",
    "zeros",
    "constant:0.01",
    "data/mnist",
    "classification",
]
values = st.one_of(
    st.sampled_from(EDGE_VALUES),
    st.integers().map(str),
    st.floats().map(repr),
    st.text(max_size=6),
)


def one_line(exc: BaseException) -> None:
    """A typed error's message is a single non-empty line."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} without a message"
    assert "\n" not in text and "\r" not in text, f"multi-line message: {text!r}"


def round_trippable(component: Component) -> bool:
    """True when every hyperparameter is a scalar that a spec string can hold."""
    return all(isinstance(v, (bool, int, float, str, type(None))) for v in component.get_config().values())


def build_or_typed_error(kind: str, spec: str) -> Component | None:
    """``registry.get(spec)``: a component that round-trips through its spec, or None after an NnctlError."""
    registry = REGISTRIES[kind]
    try:
        component = registry.get(spec)
    except NnctlError as exc:
        one_line(exc)
        return None
    assert isinstance(component, Component)
    if (kind, component.name) not in NOT_SPEC_STRINGS and round_trippable(component):
        again = registry.get(component.spec())
        assert again == component, (spec, component.spec(), again.spec())
        assert again.spec() == component.spec()
    return component


def near_miss(name: str) -> st.SearchStrategy[str]:
    """The name itself, or one edit away from it (a typo), or written differently."""
    variants = [
        name,
        name.upper(),
        name.replace("_", "-"),
        name[:-1] or "x",
        name + "s",
        name[1:] or "y",
        name[:1] + name[2:],
        " " + name + " ",
    ]
    return st.sampled_from(variants)


@st.composite
def near_valid_specs(draw) -> tuple[str, str]:
    """(kind, spec) built from real names and real parameter names with random values."""
    kind = draw(st.sampled_from(sorted(REGISTRIES)))
    registry = REGISTRIES[kind]
    real = draw(st.sampled_from(registry.names(include_aliases=True)))
    cls = registry.lookup(real)
    name = draw(st.one_of(st.just(real), near_miss(real)))
    keys = list(cls.hyperparameters())
    items = [draw(values) for _ in range(draw(st.integers(0, min(3, len(keys) + 1))))]
    key_names = (
        st.one_of(st.sampled_from(keys), st.sampled_from(keys).flatmap(near_miss)) if keys else st.text(max_size=4)
    )
    for _ in range(draw(st.integers(0, 4))):
        items.append(f"{draw(key_names)}={draw(values)}")
    if items and draw(st.booleans()):
        items = draw(st.permutations(items))
    sep = draw(st.sampled_from([",", ",", ",", ", ", ",,", ";"]))
    colon = draw(st.sampled_from([":", ":", ":", "", "::", "="]))
    return kind, name + (colon + sep.join(items) if items or draw(st.booleans()) else "")


@FUZZ
@given(st.text(max_size=60))
@example("adam:lr=1" + "0" * 400)  # a huge integer: OverflowError converting to float
@example("adam:lr=1" + "0" * 5000)  # past Python's integer-string limit: ValueError
@example("dense:units=" + "1" * 400)  # check_range on a huge int: OverflowError in math.isnan
@example("dropout:rate=" + "1" * 400)
@example("uniform:limit=inf")  # accepted, then rng.uniform(-inf, inf) raised OverflowError
@example("normal:std=1e999")  # accepted: every weight inf
@example("adam:lr=inf")
@example("leaky_relu:alpha=\n")
@example("9" * 5000)
@example("-" + "1" * 4301)
@example("digits\x00")
@example("a" * 190 + ".csv")
def test_any_text_is_a_component_or_a_typed_error(text):
    """Any text is a component of each registry or a typed error; spec helpers never escape."""
    for kind in REGISTRIES:
        build_or_typed_error(kind, text)
    try:
        name, positional, keywords = split_spec(text)
        assert name and all(isinstance(p, str) for p in positional + list(keywords.values()))
    except SpecError as exc:
        one_line(exc)
    try:
        value = parse_value(text)
    except SpecError as exc:
        one_line(exc)
    else:
        assert value is None or isinstance(value, (bool, int, float, str))
    if len(text.encode("utf-8")) <= 200:  # within every file system's name length
        assert isinstance(is_file_spec(text), bool)  # a dataset spec or a path, decided without errors


@FUZZ
@given(near_valid_specs())
@example(("optimizer", "momentum:momentum=1.5"))
@example(("optimizer", "adam:beta1=nan"))
@example(("optimizer", "sgd:lr=-1"))
@example(("initializer", "variance_scaling:scale=inf"))
@example(("dataset", "mnist:path=1e5"))  # a path that looks like a number stays the text written
@example(("schedule", "multi_step:milestones=" + "9" * 5000))
@example(("layer", "conv2d:padding=" + "9" * 4301))  # a text parameter holding a 4301-digit integer
def test_near_valid_specs_are_components_or_typed_errors(case):
    """Specs made of real names with random values build (with finite values) or raise."""
    kind, spec = case
    component = build_or_typed_error(kind, spec)
    if component is not None:
        for value in component.get_config().values():
            if isinstance(value, float):
                assert math.isfinite(value), (spec, component.spec())


def _typed_values(default):
    """Random Python values for a parameter, biased towards the type of its default."""
    printable = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=8)
    integers = st.integers(-(10**300), 10**300)  # what specs deliver (beyond, see the spec-string tests)
    anything = st.one_of(
        st.none(),
        st.booleans(),
        integers,
        st.floats(),
        printable,
        st.sampled_from([v for v in EDGE_VALUES if v.isprintable()]),
        st.lists(st.integers(0, 5), max_size=3),
    )
    if isinstance(default, bool):
        return st.one_of(st.booleans(), st.sampled_from([0, 1, 2, -1, "true"]), anything)
    if isinstance(default, int):
        return st.one_of(st.integers(-5, 10**6), integers, st.floats(-1e6, 1e6), anything)
    if isinstance(default, float):
        return st.one_of(st.floats(), st.floats(-2, 2), st.integers(-3, 3), integers, anything)
    if isinstance(default, str):  # text parameters get text from specs and config files (one line)
        return st.one_of(
            st.text(st.characters(blacklist_characters="\n\r"), max_size=8),
            st.sampled_from([v for v in EDGE_VALUES if "\n" not in v and len(v) <= 400]),
        )
    return anything


def spec_typed(cls, kwargs) -> bool:
    """True when every value has the type the spec parser delivers for its parameter (numbers that a
    spec holds as integers below 2**63, the most NumPy takes)."""
    params = cls.hyperparameters()
    for key, value in kwargs.items():
        if isinstance(value, int) and not isinstance(value, bool) or isinstance(value, float) and math.isfinite(value):
            if abs(value) >= MAX_INT and not isinstance(params[key], float):
                return False
            if isinstance(params[key], float) and isinstance(value, int) and abs(value) > 2**53:
                return False  # read back as the nearest float
        default = params[key]
        if isinstance(default, bool):
            ok = isinstance(value, bool)
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(default, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif isinstance(default, str):  # text a spec can hold: no separator, no surrounding blanks
            ok = isinstance(value, str) and value == value.strip() and value != "" and "," not in value
        else:
            ok = value is None or isinstance(value, (int, float, str))
        if not ok:
            return False
    return True


@st.composite
def constructions(draw):
    """(kind, class, keyword arguments) with random values for real hyperparameters."""
    kind = draw(st.sampled_from(sorted(REGISTRIES)))
    registry = REGISTRIES[kind]
    cls = registry.lookup(draw(st.sampled_from(registry.names())))
    params = cls.hyperparameters()
    chosen = draw(st.lists(st.sampled_from(sorted(params)), unique=True)) if params else []
    return kind, cls, {key: draw(_typed_values(params[key])) for key in chosen}


@FUZZ
@given(constructions())
@example(("schedule", SCHEDULES.lookup("step_decay"), {"step_size": 2.5}))
@example(("schedule", SCHEDULES.lookup("reduce_on_plateau"), {"patience": 1.5}))
@example(("optimizer", OPTIMIZERS.lookup("adam"), {"beta1": math.nan}))
@example(("optimizer", OPTIMIZERS.lookup("momentum"), {"momentum": 1.5}))
@example(("optimizer", OPTIMIZERS.lookup("sgd"), {"lr": -1}))
@example(("initializer", INITIALIZERS.lookup("uniform"), {"limit": math.inf}))
def test_constructors_accept_or_raise_config_errors(case):
    """Constructors take random hyperparameters or raise typed errors; what they take round-trips."""
    kind, cls, kwargs = case
    if (kind, cls.name) in NOT_SPEC_STRINGS:
        kwargs.pop("layers", None)
    try:
        component = cls(**kwargs)
    except NnctlError as exc:
        one_line(exc)
        return
    if (kind, cls.name) not in NOT_SPEC_STRINGS and round_trippable(component) and spec_typed(cls, kwargs):
        # a component built from values a spec can hold can be written down and read back
        again = REGISTRIES[kind].get(component.spec())
        assert again == component, (kwargs, component.spec(), again.spec())


@FUZZ
@given(
    st.one_of(
        st.integers(min_value=-(10**4000), max_value=10**4000), st.floats(allow_nan=False), st.booleans(), st.none()
    )
)
def test_format_value_round_trips_through_parse_value(value):
    """Every number, bool and None is written so that parsing gives it back exactly."""
    again = parse_value(format_value(value))
    assert again == value and type(again) is type(value)


@pytest.mark.parametrize(
    "kind, spec",
    [
        ("optimizer", "sgd:lr=-1"),
        ("optimizer", "momentum:momentum=1.5"),
        ("optimizer", "adam:beta1=nan"),
        ("optimizer", "adam:lr=inf"),
        ("initializer", "uniform:limit=inf"),
        ("initializer", "normal:std=1e999"),
        ("layer", "dense:units=" + "1" * 400),
        ("layer", "dropout:rate=" + "1" * 400),
        ("schedule", "step_decay:step_size=2.5"),
        ("augmentation", "shift:" + "9" * 30),
    ],
)
def test_values_out_of_range_are_config_errors_that_say_what_is_allowed(kind, spec):
    """Out-of-range values are ConfigErrors saying what is allowed."""
    with pytest.raises(ConfigError) as err:
        REGISTRIES[kind].get(spec)
    one_line(err.value)
    assert "allowed" in str(err.value) or "expected" in str(err.value)


@st.composite
def augmentation_specs(draw) -> str:
    """Comma-joined augmentation ops with random parameters, as --augment takes them."""
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(
            st.sampled_from(AUGMENTATIONS.names(include_aliases=True)).flatmap(
                lambda n: st.one_of(st.just(n), near_miss(n))
            )
        )
        keys = list(AUGMENTATIONS.lookup(name).hyperparameters()) if name in AUGMENTATIONS else ["p"]
        item = name
        if draw(st.booleans()):
            item += ":" + draw(values)
        parts.append(item)
        for _ in range(draw(st.integers(0, 2))):
            parts.append(f"{draw(st.sampled_from(keys + ['zz']))}={draw(values)}" if keys else draw(values))
    return ",".join(parts)


@FUZZ
@given(st.one_of(augmentation_specs(), st.text(max_size=40)))
@example("shift:" + "9" * 5000)
@example("rotate:1e999")
def test_augmentation_specs_are_pipelines_or_typed_errors(spec):
    """--augment strings are pipelines whose spec parses back, or typed errors."""
    try:
        pipeline = parse_augmentations(spec)
    except NnctlError as exc:
        one_line(exc)
        return
    assert parse_augmentations(pipeline.spec()) == pipeline


@pytest.mark.parametrize(
    "text",
    ["1" * 20_000 + "x", "-" + "7" * 20_000 + "..", "2" * 20_000 + "e"],
    ids=["digits-x", "digits-dots", "digits-e"],
)
def test_long_non_numbers_are_rejected_in_linear_time(text):
    """A long digit string that is not a number is text at once (no regex backtracking)."""
    start = time.perf_counter()
    assert parse_value(text) == text
    with pytest.raises(NnctlError):
        OPTIMIZERS.get("adam:lr=" + text)
    assert time.perf_counter() - start < 0.5
