"""Fuzzing sweep distributions, --param strings and search spaces.

Properties: a distribution string parses to a distribution whose seeded samples lie in its range,
are the same for the same seed, and whose text parses back to it — or raises an NnctlError with a
one-line message. A raw sweep spec builds a search space that expands (deterministically, within
the trial limit) to valid run configurations, or raises an NnctlError. Never another exception.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from nnctl.core.errors import NnctlError
from nnctl.search.describe import describe
from nnctl.search.distributions import Distribution, is_distribution, parse_distribution
from nnctl.search.identity import sweep_id
from nnctl.search.space import MAX_TRIALS, SearchSpace, build_space, expand, parse_param
from nnctl.training.config import RunConfig

NUMBERS = [
    "0",
    "1",
    "-1",
    "-0",
    "0.5",
    "1e-4",
    "1e-1",
    "1e999",
    "-1e999",
    "1e308",
    "-1e308",
    "1e-400",
    "nan",
    "inf",
    "9007199254740993",
    "1e20",
    "99999999999999999999",
    "1.5",
    "16",
    "128",
    "3",
    ".5",
    "5.",
    "1e",
    "",
    "x",
    "١",
    "1_0",
    " 2",
]
numbers = st.one_of(
    st.sampled_from(NUMBERS),
    st.integers(-(10**6), 10**6).map(str),
    st.floats().map(repr),
    st.floats(1e-6, 10).map(repr),
)
AXES = [n for n in RunConfig.option_names() if n not in ("name", "results_dir")]


def one_line(exc: BaseException) -> None:
    """A typed error's message is a single non-empty line."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} without a message"
    assert "\n" not in text and "\r" not in text, f"multi-line message: {text!r}"


DIST_KINDS = st.sampled_from(["uniform", "loguniform", "int", "choice", "normal", "Uniform", "log_uniform"])
CHOICES = st.lists(st.one_of(numbers, st.text(max_size=6)), max_size=5)


@st.composite
def distribution_texts(draw) -> str:
    """``kind:a:b`` (or the comma form ``kind:a,b``), ``choice:...``, or a near miss."""
    kind = draw(DIST_KINDS)
    if kind == "choice":
        return "choice:" + draw(st.sampled_from([",", ";"])).join(draw(CHOICES))
    sep = draw(st.sampled_from([":", ":", ":", ","]))
    return f"{kind}:{draw(numbers)}{sep}{draw(numbers)}"


def check_distribution(dist: Distribution, key: str) -> None:
    """Seeded samples lie in range and repeat for the seed; the text form parses back."""
    assert parse_distribution(key, str(dist)) == dist
    for seed in (0, 12345):
        first = [dist.sample(np.random.default_rng(seed)) for _ in range(3)]
        rng = np.random.default_rng(seed)
        draws = [dist.sample(rng) for _ in range(20)]
        rng_again = np.random.default_rng(seed)
        assert draws == [dist.sample(rng_again) for _ in range(20)]
        assert len(set(map(repr, first))) == 1
        for x in draws:
            if dist.kind == "choice":
                assert x in dist.values
            elif dist.kind == "int":
                assert isinstance(x, int) and dist.low <= x <= dist.high
            else:
                assert isinstance(x, float) and math.isfinite(x) and dist.low <= x <= dist.high, (str(dist), x)
                if dist.kind == "loguniform":
                    assert x > 0


@FUZZ
@given(st.one_of(distribution_texts(), st.text(max_size=30)), st.sampled_from(["lr", "epochs", "x"]))
@example("uniform:-1e308:1e308", "lr")  # OverflowError: high - low out of range
@example("loguniform:1:1e400", "lr")  # log(inf): OverflowError
@example("uniform:0:1e999", "lr")
@example("int:0:1e20", "epochs")  # ValueError: high is out of bounds for int64
@example("int:9007199254740993:9007199254740994", "epochs")
@example("loguniform:1.0000001:1.0000002", "lr")  # rounding to 6 digits left the range
@example("uniform:0.1234561:0.1234562", "lr")
def test_distribution_strings_parse_or_raise_typed_errors(text, key):
    """Distribution strings parse to distributions with sound samples, or raise typed errors."""
    try:
        dist = parse_distribution(key, text)
    except NnctlError as exc:
        one_line(exc)
        return
    check_distribution(dist, key)


@FUZZ
@given(
    st.one_of(
        st.tuples(
            st.sampled_from(AXES + ["lrr", "epoch", "", " lr", "name"]),
            st.sampled_from(["=", "=", " = ", ":"]),
            st.one_of(distribution_texts(), st.lists(numbers, max_size=4).map(",".join), st.text(max_size=12)),
        ).map("".join),
        st.text(max_size=40),
    )
)
@example("lr=loguniform:1e-4,1e-1")  # the comma form is a list of two values, refused for lr
@example("epochs=int:1:1e18")
def test_param_flags_parse_or_raise_typed_errors(text):
    """--param strings parse and build random-search spaces, or raise typed errors."""
    try:
        key, values = parse_param(text)
    except NnctlError as exc:
        one_line(exc)
        return
    assert isinstance(key, str) and key
    if isinstance(values, str):
        assert is_distribution(values)
    else:
        assert isinstance(values, list) and all(isinstance(v, str) and v for v in values)
    try:
        space = build_space("random", {"params": {key: values}, "trials": 3})
    except NnctlError as exc:
        one_line(exc)
        return
    check_space(space)


def check_space(space: SearchSpace) -> None:
    """The space expands to the same valid trials twice, within the trial limit."""
    try:
        trials = expand(space)
    except NnctlError as exc:  # a drawn value the run options refuse
        one_line(exc)
        return
    assert len(trials) <= MAX_TRIALS
    if len(trials) <= 200:
        assert [t.trial_id for t in expand(space)] == [t.trial_id for t in trials]
    assert len({t.trial_id for t in trials}) == len(trials) or space.kind == "random"
    for trial in trials[:5]:
        cfg = RunConfig.from_dict(trial.config)
        assert cfg.to_dict() == trial.config
    assert isinstance(describe(space), str) and isinstance(sweep_id(space), str)


axis_values = st.one_of(
    distribution_texts(),
    st.lists(
        st.one_of(
            numbers,
            st.integers(-3, 100),
            st.floats(),
            st.booleans(),
            st.text(max_size=8),
            st.sampled_from(["relu", "tanh", "he_normal", "zeros", "mlp:16", "adam", "sgd", "full"]),
        ),
        max_size=6,
    ),
    st.one_of(
        numbers,
        st.text(max_size=10),
        st.integers(),
        st.booleans(),
        st.none(),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
)
settings_values = st.one_of(
    st.none(),
    st.integers(-2, 30),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(["3", "²", "٣", " 2 ", "-1", "1e3", "9" * 40, "", "x"]),
)


AXIS_NAMES = st.one_of(st.sampled_from(AXES), st.sampled_from(["lrr", "epoch", "batch-size", "name", "Seed", "x"]))
RAW_PARAMS = st.dictionaries(AXIS_NAMES, axis_values, max_size=3)
RAW_BASE = st.one_of(
    st.dictionaries(
        st.sampled_from(AXES + ["name", "lrr"]), st.one_of(numbers, st.integers(0, 50), st.booleans()), max_size=3
    ),
    st.sampled_from([[], "digits", 3]),
)
RAW_NAME = st.one_of(st.text(max_size=10), st.integers(), st.lists(st.integers(), max_size=1))


@st.composite
def raw_specs(draw) -> tuple[str, dict]:
    """(kind, raw spec) as flags or a spec file give them, with real and near-miss axis names."""
    kind = draw(st.sampled_from(["grid", "random", "random", "Grid", "bayes"]))
    params = draw(RAW_PARAMS)
    raw: dict = {"params": params}
    for key in ("repeats", "trials", "sweep_seed"):
        if draw(st.booleans()):
            raw[key] = draw(settings_values)
    if draw(st.booleans()):
        raw["base"] = draw(RAW_BASE)
    if draw(st.integers(0, 3)) == 0:
        axes = list(params) or ["lr"]
        raw["zip"] = draw(
            st.one_of(
                st.lists(st.lists(st.sampled_from(axes + ["lr", "x"]), max_size=3), max_size=2),
                st.sampled_from([",".join(axes), axes, 5, "lr", [5], {"a": 1}, [[1, 2]]]),
            )
        )
    if draw(st.booleans()):
        raw["name"] = draw(RAW_NAME)
    return kind, raw


PLAUSIBLE = {
    "lr": st.one_of(
        st.lists(st.floats(1e-5, 1.0), min_size=1, max_size=4),
        st.sampled_from(["loguniform:1e-4:1e-1", "uniform:0.001:0.1", "0.1,0.01", "choice:0.1,0.01"]),
    ),
    "epochs": st.one_of(st.lists(st.integers(0, 5), min_size=1, max_size=3), st.sampled_from(["int:1:3", "int:1:40"])),
    "batch_size": st.one_of(
        st.lists(st.sampled_from([1, 16, 32, "full", "64"]), min_size=1, max_size=3), st.just("int:8:64")
    ),
    "seed": st.one_of(st.lists(st.integers(0, 10**6), min_size=1, max_size=3), st.just("int:0:1000000000")),
    "init": st.lists(
        st.sampled_from(["zeros", "he_normal", "glorot_uniform", "normal:std=0.01", "auto"]), min_size=1, max_size=3
    ),
    "activation": st.sampled_from(["relu,tanh", "choice:relu,sigmoid", "relu"]),
    "model": st.sampled_from(["mlp:16;mlp:32,16", "choice:mlp:8;mlp:8,8", "mlp:4"]),
    "dropout": st.one_of(st.sampled_from(["uniform:0:0.5", "0,0.2,0.5"]), st.lists(st.floats(0, 0.9), min_size=1)),
    "l2": st.sampled_from(["loguniform:1e-6:1e-2", "0,1e-4", "choice:0,0.001"]),
    "optimizer": st.sampled_from(["adam,sgd", "momentum:momentum=0.9;nesterov"]),
}


PLAUSIBLE_AXES = st.lists(st.sampled_from(sorted(PLAUSIBLE)), unique=True, min_size=1, max_size=3)
TRIALS = st.one_of(st.integers(1, 12), st.sampled_from(["3", 0, 10**5]))
MUTATION = st.one_of(axis_values, settings_values)


@st.composite
def plausible_specs(draw) -> tuple[str, dict]:
    """(kind, raw spec) made of real axes with values of the right kind, and small sizes."""
    kind = draw(st.sampled_from(["grid", "random"]))
    axes = draw(PLAUSIBLE_AXES)
    raw: dict = {"params": {a: draw(PLAUSIBLE[a]) for a in axes}}
    if kind == "random":
        raw["trials"] = draw(TRIALS)
        raw["sweep_seed"] = draw(st.integers(0, 2**40))
    if draw(st.booleans()):
        raw["repeats"] = draw(st.integers(1, 3))
    if draw(st.booleans()):
        raw["base"] = {"epochs": draw(st.integers(1, 5)), "model": "mlp:8"}
    if draw(st.integers(0, 3)) == 0 and len(axes) > 1:
        raw["zip"] = [axes[:2]]
    if draw(st.integers(0, 4)) == 0:  # one mutation: a value, an axis name or a setting goes wrong
        key = draw(st.sampled_from(["params", "repeats", "zip", "base"]))
        raw[key] = draw(MUTATION)
    return kind, raw


@FUZZ
@given(st.one_of(plausible_specs(), plausible_specs(), raw_specs()))
@example(("random", {"params": {"epochs": "int:1:1e18"}, "trials": 2}))  # MemoryError: list(range(1e18))
@example(("grid", {"params": {"epochs": "int:1:100000000"}}))  # a grid walking 10^8 values
@example(("grid", {"params": {"seed": list(range(200)), "epochs": list(range(1, 201))}}))  # 40000 trials
@example(("random", {"params": {"lr": "uniform:0:1"}, "trials": 10**9}))
@example(("grid", {"params": {"lr": [0.1]}, "repeats": "²"}))  # ValueError from int('²')
@example(("random", {"params": {"lr": [0.1]}, "trials": 2, "sweep_seed": "٣x"}))
@example(("grid", {"params": {"lr": [0.1, 0.2]}, "zip": 5}))  # TypeError: int is not iterable
@example(("grid", {"params": {"lr": [0.1, 0.2]}, "zip": [5]}))
@example(("grid", {"params": {"lr": [0.1]}, "base": [1, 2]}))  # TypeError from dict([1, 2])
@example(("grid", {"params": {"lr": [10**400]}}))  # OverflowError converting to float
def test_raw_sweep_specs_build_spaces_or_raise_typed_errors(case):
    """Raw sweep specs build spaces that expand within the limit, or raise typed errors."""
    kind, raw = case
    try:
        space = build_space(kind, raw)
    except NnctlError as exc:
        one_line(exc)
        return
    assert space.kind in ("grid", "random")
    check_space(space)


@FUZZ
@given(
    st.sampled_from(["int", "uniform", "loguniform"]),
    st.integers(-(2**60), 2**60),
    st.integers(0, 2**60),
    st.integers(0, 2**32),
)
def test_random_search_on_wide_integer_ranges_stays_lazy(kind, low, width, seed):
    """Random search over huge integer ranges samples without listing the range."""
    text = f"{kind}:{low}:{low + width}"
    field = "seed" if kind == "int" else "lr"
    try:
        space = build_space("random", {"params": {field: text}, "trials": 5, "sweep_seed": seed})
    except NnctlError as exc:
        one_line(exc)
        return
    points = [t.params[field] for t in expand(space)]
    assert len(points) == min(5, width + 1) if kind == "int" else len(points) == 5
    dist = space.params[field]
    assert all(dist.low <= p <= dist.high for p in points)


@pytest.mark.parametrize(
    "text", ["uniform:" + "1" * 20_000 + "x:1", "int:1:" + "5" * 20_000 + ".."], ids=["digits-x", "digits-dots"]
)
def test_long_bounds_are_rejected_in_linear_time(text):
    """A distribution with a long malformed bound is refused at once (no regex backtracking)."""
    start = time.perf_counter()
    with pytest.raises(NnctlError):
        parse_distribution("lr", text)
    assert time.perf_counter() - start < 0.5
