"""Fuzzing config files: run options (TOML/JSON), sweep spec files and experiment files.

Hypothesis builds dicts of real and near-miss keys with randomly typed values (and random bytes),
the tests write them to real files and load them through the library. Property: a valid config
object or an NnctlError with a one-line message — never a TypeError, KeyError, AttributeError,
UnicodeDecodeError, TOMLDecodeError, JSONDecodeError or RecursionError escaping. Unknown keys are
errors that name the key and suggest the closest valid one.
"""

from __future__ import annotations

import json
import math
import tomllib

import pytest
from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from nnctl.cli.options import read_config_file
from nnctl.core.errors import ConfigError, NnctlError
from nnctl.experiments.expect import Expectation
from nnctl.experiments.spec import SWEEP_KEYS, TOP_KEYS, read_experiment
from nnctl.search.space import MAX_TRIALS, build_space, expand
from nnctl.search.specfile import SPEC_KEYS, merge_specs, read_spec_file
from nnctl.training.config import RunConfig

OPTIONS = RunConfig.option_names()


def mostly(n: int) -> st.SearchStrategy[bool]:
    """True about (n - 1) times in n."""
    return st.sampled_from([True] * (n - 1) + [False])


def one_line(exc: BaseException) -> None:
    """A typed error's message is a single non-empty line."""
    text = str(exc)
    assert text.strip(), f"{type(exc).__name__} without a message"
    assert "\n" not in text and "\r" not in text, f"multi-line message: {text!r}"


# --- a tiny TOML writer (inline tables only, which TOML allows anywhere) ---------------------------


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value) -> str:
    """The TOML form of a value; tables become inline tables, None is left out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, dict):
        pairs = (f"{toml_string(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None)
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML form for {value!r}")


def toml_document(table: dict) -> str:
    """A TOML document with one ``key = value`` line per top-level entry."""
    return "".join(f"{toml_string(str(k))} = {toml_value(v)}\n" for k, v in table.items() if v is not None)


def drop_none(value):
    """What the TOML writer keeps of ``value`` (TOML has no null)."""
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value if v is not None]
    return value


def write(tmp_path, table: dict, suffix: str, name: str = "options"):
    """Write ``table`` as TOML or JSON to a real file and return its path."""
    path = tmp_path / f"{name}{suffix}"
    text = json.dumps(table) if suffix == ".json" else toml_document(table)
    path.write_text(text, encoding="utf-8")
    return path


# --- strategies -------------------------------------------------------------------------------------

scalars = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(-3, 100),
    st.floats(),
    st.floats(0, 1),
    st.text(max_size=10),
    st.sampled_from(
        [
            "nan",
            "inf",
            "-inf",
            "1e999",
            "-0",
            "auto",
            "full",
            "²",
            "٣",
            "3",
            "0.1",
            "1_000",
            "true",
            "digits",
            "mlp:16",
            "relu",
            "adam",
            "he_normal",
            "val_loss",
            "float64",
            "regression",
            "",
        ]
    ),
)
values = st.one_of(
    scalars, scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=4), scalars, max_size=2)
)
json_values = st.one_of(values, st.none(), st.integers(min_value=10**300, max_value=10**310))


def near_misses(name: str) -> list[str]:
    """Typos of a key: a letter dropped, doubled or changed, '_' as '-' or dropped, capitals."""
    out = {
        name[:-1],
        name + name[-1],
        name[:-1] + ("x" if name[-1] != "x" else "y"),
        name.replace("_", "-"),
        name.replace("_", ""),
        name.upper(),
        name.title(),
    }
    return sorted(n for n in out if n and n.replace("-", "_") not in OPTIONS)


PLAUSIBLE = {
    "data": st.sampled_from(["digits", "iris", "spiral:classes=3", "x.csv"]),
    "model": st.sampled_from(["mlp:16", "mlp:8,8", "dense:4,relu"]),
    "lr": st.sampled_from([0.1, 0.01, 3e-4, 1.0, "auto", "0.05"]),
    "epochs": st.integers(0, 50),
    "batch_size": st.sampled_from([1, 32, 256, "full", "64"]),
    "seed": st.integers(0, 2**31),
    "val_split": st.sampled_from([0.0, 0.1, 0.25]),
    "dropout": st.sampled_from([0.0, 0.2, 0.5]),
    "early_stopping": st.sampled_from([None, 1, 5]),
    "standardize": st.booleans(),
    "monitor": st.sampled_from(["val_loss", "val_acc"]),
    "optimizer": st.sampled_from(["adam", "sgd", "momentum:momentum=0.9"]),
}


@st.composite
def plausible_options(draw) -> dict:
    """A few run options with plausible values only."""
    keys = draw(st.lists(st.sampled_from(sorted(PLAUSIBLE)), unique=True, max_size=3))
    return {key: draw(PLAUSIBLE[key]) for key in keys}


PLAUSIBLE_OPTIONS = plausible_options()


PLAUSIBLE_KEYS = st.sampled_from(sorted(PLAUSIBLE))
OPTION_NAMES = st.sampled_from(OPTIONS)
TYPO_KEYS = st.sampled_from(sorted({typo for name in OPTIONS for typo in near_misses(name)}))
WRAP = st.sampled_from([None, None, None, "config", "run"])


@st.composite
def option_tables(draw) -> dict:
    """A table of run options: plausible values, random values, near-miss and unknown keys."""
    table: dict = {}
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.integers(0, 9))
        if kind < 5:
            key = draw(PLAUSIBLE_KEYS)
            table[key] = draw(PLAUSIBLE[key])
        elif kind < 8:
            table[draw(OPTION_NAMES)] = draw(json_values)  # None and huge integers too (TOML leaves None out)
        elif kind == 8:
            table[draw(TYPO_KEYS)] = draw(scalars)
        else:
            table[draw(st.text(max_size=8))] = draw(scalars)
    wrap = draw(WRAP)
    return {wrap: table, "nnctl": "0.1"} if wrap else table


OPTION_TABLES = option_tables()


def load_or_typed_error(path) -> RunConfig | None:
    """``RunConfig.from_file``: a config that replays through its dict, or None after an NnctlError."""
    try:
        cfg = RunConfig.from_file(path)
    except NnctlError as exc:
        one_line(exc)
        return None
    assert isinstance(cfg, RunConfig)
    assert RunConfig.from_dict(cfg.to_dict()) == cfg  # a loaded config replays exactly
    return cfg


# --- run options ----------------------------------------------------------------------------------


@FUZZ
@given(OPTION_TABLES, st.sampled_from([".toml", ".json"]))
@example({"epochs": "²"}, ".toml")  # ValueError from int('²')
@example({"batch_size": "²"}, ".json")
@example({"lr": 10**400}, ".json")  # OverflowError converting to float
@example({"lr": "inf"}, ".toml")  # accepted before: an infinite learning rate
@example({"l2": math.inf}, ".toml")
@example({"name": True}, ".toml")
def test_option_files_load_or_raise_typed_errors(tmp_path, table, suffix):
    """Option files load to a config (the same through the CLI reader) or raise a typed error."""
    path = write(tmp_path, table, suffix)
    if suffix == ".toml" and "nan" not in path.read_text(encoding="utf-8"):  # the file holds what was generated
        assert tomllib.loads(path.read_text(encoding="utf-8")) == drop_none(table)
    cfg = load_or_typed_error(path)
    try:  # what `nnctl train --config FILE` does
        cli = RunConfig.from_dict(read_config_file(path))
    except NnctlError as exc:
        one_line(exc)
        cli = None
    assert cli == cfg
    if cfg is not None:  # the resolved config written as JSON (config.json) loads back to the same run
        again = write(tmp_path, {"config": cfg.to_dict()}, ".json", name="replay")
        assert RunConfig.from_file(again) == cfg


@FUZZ
@given(st.binary(max_size=200), st.sampled_from([".toml", ".json", ".TOML", ".txt", ""]))
@example(b"\xff\xfe", ".toml")  # not UTF-8
@example(b"a = " + b"[" * 5000 + b"]" * 5000, ".toml")  # RecursionError inside tomllib
@example(b"[" * 100000 + b"]" * 100000, ".json")  # RecursionError inside json
@example(b"a = 1" + b"0" * 5000, ".toml")  # ValueError: integer string too long
@example(b'{"lr": 1' + b"0" * 5000 + b"}", ".json")
@example(b"\xef\xbb\xbfepochs = 3", ".toml")  # a byte-order mark
def test_random_bytes_as_files_never_escape(tmp_path, data, suffix):
    """Arbitrary bytes are refused with a typed error by every file reader."""
    path = tmp_path / f"file{suffix}"
    path.write_bytes(data)
    load_or_typed_error(path)
    for reader in (read_spec_file, read_experiment):
        try:
            reader(path)
        except NnctlError as exc:
            one_line(exc)


@FUZZ
@given(
    st.sampled_from(OPTIONS).flatmap(lambda name: st.tuples(st.just(name), st.sampled_from(near_misses(name)))),
    st.sampled_from([".toml", ".json"]),
)
@example(("epochs", "epoch"), ".toml")
@example(("batch_size", "batch-sizee"), ".json")
def test_unknown_keys_name_the_key_and_suggest_the_closest(tmp_path, case, suffix):
    """A mistyped option is named, with the valid options and the closest one."""
    real, typo = case
    path = write(tmp_path, {"epochs": 2, typo: 1}, suffix)
    with pytest.raises(ConfigError) as err:
        RunConfig.from_file(path)
    message = str(err.value)
    one_line(err.value)
    assert f"unknown option '{typo}'" in message and "valid: " in message
    if "did you mean" in message:
        suggested = message.split("did you mean '")[1].split("'")[0]
        assert suggested in OPTIONS
    if len(real) >= 5:
        assert "did you mean" in message, message


# --- sweep spec files --------------------------------------------------------------------------------

axis_lists = st.one_of(
    st.lists(st.one_of(st.floats(1e-4, 1), st.integers(1, 4)), min_size=1, max_size=3),
    st.sampled_from(["loguniform:1e-4:1e-1", "0.1,0.01", "int:1:3", "choice:relu,tanh", "uniform:0:0.5", "int:0:1e20"]),
    values,
)
GOOD_AXES = {
    "lr": st.sampled_from(
        [[0.1], [0.1, 0.01], [0.003, 0.03, 0.3], "loguniform:1e-4:1e-1", "0.1,0.01", "choice:0.1,0.3"]
    ),
    "epochs": st.sampled_from([[1], [0, 2], [1, 2, 3], "int:1:3"]),
    "dropout": st.sampled_from([[0.0, 0.5], [0.2], "uniform:0:0.5"]),
    "init": st.sampled_from([["zeros", "he_normal"], ["auto"], "zeros,glorot_uniform"]),
    "seed": st.sampled_from([[0, 1], [7], [1, 2, 3]]),
}


@st.composite
def good_axes(draw, max_size: int = 3) -> dict:
    """One to ``max_size`` real axes with values of the right kind."""
    names = draw(st.lists(st.sampled_from(sorted(GOOD_AXES)), unique=True, min_size=1, max_size=max_size))
    return {name: draw(GOOD_AXES[name]) for name in names}


GOOD_AXES_TABLE = good_axes()
axis_names = st.one_of(
    st.sampled_from(["lr", "epochs", "dropout", "activation", "init", "batch_size", "seed"]),
    st.sampled_from(OPTIONS),
    st.sampled_from(["lrr", "epoch", "name", "Seed"]),
)


SPEC_MUTATION = st.one_of(
    st.just("none"),
    st.sampled_from(
        ["params", "base", "name", "repeats", "trials", "sweep_seed", "zip", "unknown key", "axis", "chaos"]
    ),
)
SPEC_SETTINGS = (
    ("repeats", st.integers(1, 3)),
    ("trials", st.integers(1, 6)),
    ("sweep_seed", st.integers(0, 99)),
    ("name", st.text(max_size=10)),
)
NOT_A_TABLE = st.one_of(values, OPTION_TABLES)
SPEC_TYPOS = st.sampled_from(["param", "trial", "repeat", "kind", "base_", "zips", "Name"])
SPEC_CHAOS = st.lists(st.sampled_from(list(SPEC_KEYS)), max_size=4)


@st.composite
def spec_tables(draw) -> dict:
    """A sweep spec file: well formed, or with one thing wrong (or everything, now and then)."""
    mutation = draw(SPEC_MUTATION)
    table: dict = {"params": draw(GOOD_AXES_TABLE)}
    if draw(st.booleans()):
        table["base"] = draw(PLAUSIBLE_OPTIONS)
    for key, good in SPEC_SETTINGS:
        if draw(st.booleans()) or key == mutation:
            table[key] = draw(good) if key != mutation else draw(values)
    if len(table["params"]) > 1 and draw(st.booleans()):
        table["zip"] = [sorted(table["params"])[:2]]
    if mutation in ("params", "base", "zip"):
        table[mutation] = draw(NOT_A_TABLE)
    elif mutation == "axis":
        table["params"][draw(axis_names)] = draw(axis_lists)
    elif mutation == "unknown key":
        table[draw(SPEC_TYPOS)] = draw(scalars)
    elif mutation == "chaos":
        for key in draw(SPEC_CHAOS):
            table[key] = draw(values)
    return table


@FUZZ
@given(spec_tables(), st.sampled_from(["grid", "random"]))
@example({"params": {"lr": [0.1]}, "zip": 5}, "grid")  # TypeError: 'int' object is not iterable
@example({"params": {"epochs": "int:1:1e18"}, "trials": 2}, "random")  # MemoryError
@example({"params": {"lr": [0.1]}, "repeats": "²"}, "grid")  # ValueError from int('²')
@example({"params": {"lr": [0.1]}, "trial": 3}, "random")
def test_sweep_spec_files_build_spaces_or_raise_typed_errors(tmp_path, table, kind):
    """Sweep spec files build search spaces that expand, or raise a typed error."""
    path = write(tmp_path, table, ".toml", name="sweep")
    try:
        raw = merge_specs(read_spec_file(path), {"base": {}, "params": {}})
        space = build_space(kind, raw)
        trials = expand(space)
    except NnctlError as exc:
        one_line(exc)
        if "unknown key" in str(exc):
            assert "valid: " in str(exc)
        return
    assert set(raw) - {"base", "params"} <= set(SPEC_KEYS)
    assert len(trials) <= MAX_TRIALS
    for trial in trials[:5]:
        RunConfig.from_dict(trial.config)


# --- experiment files ----------------------------------------------------------------------------------

EXPECTS = [
    "val_acc[init=he_normal] > val_acc[init=zeros] + 0.3",
    "train_loss@5[activation=relu] < 1",
    "best_val_acc.max[sweep=random] >= best_val_acc.max[sweep=grid] and distinct(lr)[sweep=random] > 3",
    "(train_acc[l2=0.0] - val_acc[l2=0.0]) > 0",
    "val_acc >",
    "-" * 300 + "1 > 0",
    "(" * 300 + "1" + ")" * 300 + " > 0",
    "val_acc@" + "9" * 50 + " > 0",
    "x[a=1,] > 0",
]


def sweep_tables(good: bool) -> st.SearchStrategy[dict]:
    """The sweep settings of an experiment (or of one of its [sweeps.<label>] tables)."""
    if good:
        return st.fixed_dictionaries(
            {"params": good_axes(max_size=2)},
            optional={
                "kind": st.sampled_from(["grid", "random"]),
                "base": PLAUSIBLE_OPTIONS,
                "trials": st.integers(1, 4),
                "repeats": st.integers(1, 3),
            },
        )
    return st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["grid", "random", "bogus"]),
            "params": st.one_of(st.dictionaries(axis_names, axis_lists, max_size=2), values),
            "base": st.one_of(PLAUSIBLE_OPTIONS, values),
            "trials": st.one_of(st.integers(1, 4), scalars),
            "repeats": st.one_of(st.integers(1, 3), scalars),
            "zip": values,
        },
    )


MINIMAL = {"name": "e", "claim": "c", "hypothesis": "h", "expect": "val_acc > 0"}
MUTATIONS = [
    "drop name",
    "drop claim",
    "drop hypothesis",
    "drop expect",
    "bad name",
    "bad expect",
    "bad sweeps",
    "bad fast",
    "bad source",
    "bad metric",
    "unknown key",
    "chaos",
]


GOOD_SWEEP, BAD_SWEEP = sweep_tables(True), sweep_tables(False)
SWEEPS = {
    True: st.dictionaries(st.sampled_from(["a", "b"]), GOOD_SWEEP, min_size=1, max_size=2),
    False: st.dictionaries(st.sampled_from(["a", "b"]), BAD_SWEEP, min_size=1, max_size=2),
}
FAST = {
    good: st.fixed_dictionaries(
        {},
        optional={
            "repeats": st.integers(1, 2),
            "base": PLAUSIBLE_OPTIONS,
            "sweeps": st.dictionaries(st.sampled_from(["a", "c"]), GOOD_SWEEP if good else BAD_SWEEP, max_size=1),
        },
    )
    for good in (True, False)
}
BAD_FAST = st.one_of(
    values,
    st.fixed_dictionaries(
        {},
        optional={
            "base": values,
            "trials": scalars,
            "kind": scalars,
            "sweeps": st.one_of(st.dictionaries(st.sampled_from(["a", "c"]), BAD_SWEEP, max_size=1), values),
        },
    ),
)


EXPERIMENT_MUTATION = st.one_of(st.just("none"), st.sampled_from(MUTATIONS))
GOOD_EXPECT = st.sampled_from(EXPECTS[:4])
BAD_EXPECT = st.one_of(st.sampled_from(EXPECTS), st.text(max_size=20), scalars)
METRICS = st.sampled_from(["val_acc", "train_loss"])
TEXT_KEYS = st.sampled_from(["name", "claim", "hypothesis"])
EXPERIMENT_TYPOS = st.sampled_from(["names", "claims", "expects", "sweep", "fasts", "param", "Repeats"])
EXPERIMENT_CHAOS = st.lists(st.sampled_from(sorted(TOP_KEYS)), max_size=4)


@st.composite
def experiment_tables(draw) -> dict:
    """An experiment file: well formed, or with one thing wrong (or everything, now and then)."""
    mutation = draw(EXPERIMENT_MUTATION)
    good = mutation != "chaos"
    table: dict = {
        "name": "exp",
        "claim": "a claim",
        "hypothesis": "a hypothesis\nfrom the notes",
        "expect": draw(GOOD_EXPECT),
    }
    table.update(draw(GOOD_SWEEP if good else BAD_SWEEP))
    if draw(st.booleans()):
        table["sweeps"] = draw(SWEEPS[good])
    if draw(st.booleans()):
        table["fast"] = draw(FAST[good])
    if draw(st.booleans()):
        table["metric"] = draw(METRICS)
    if mutation.startswith("drop "):
        table.pop(mutation[5:])
    elif mutation == "bad name":
        table[draw(TEXT_KEYS)] = draw(scalars)
    elif mutation == "bad expect":
        table["expect"] = draw(BAD_EXPECT)
    elif mutation == "bad sweeps":
        table["sweeps"] = draw(st.one_of(values, SWEEPS[False]))
    elif mutation == "bad fast":
        table["fast"] = draw(BAD_FAST)
    elif mutation in ("bad source", "bad metric"):
        table[mutation[4:]] = draw(scalars)
    elif mutation == "unknown key":
        typo = draw(EXPERIMENT_TYPOS)
        table[typo] = draw(scalars)
    elif mutation == "chaos":
        for key in draw(EXPERIMENT_CHAOS):
            table[key] = draw(values)
    return table


@FUZZ
@given(experiment_tables(), st.booleans())
@example({**MINIMAL, "sweeps": [1]}, False)  # AttributeError: 'list' object has no attribute 'items'
@example({**MINIMAL, "base": [1, 2]}, False)  # TypeError from dict([1, 2])
@example({**MINIMAL, "fast": 3}, True)  # AttributeError
@example(
    {
        **MINIMAL,
        "params": {"lr": [0.1]},
        "sweeps": {"a": {"repeats": 2}},
        "fast": {"sweeps": {"a": {"repeats": {"x": 1}}}},
    },
    True,
)  # TypeError merging a table into a number
@example({**MINIMAL, "expect": "(" * 300 + "1" + ")" * 300 + " > 0"}, False)
@example({**MINIMAL, "expects": 1}, False)  # an unknown key, named with the closest valid one
@example({**MINIMAL, "sweeps": {"\n": False}}, False)  # a label with a line break in the message
def test_experiment_files_load_or_raise_typed_errors(tmp_path, table, fast):
    """Experiment files load and their sweeps expand, or raise a typed error."""
    path = write(tmp_path, table, ".toml", name="experiment")
    try:
        exp = read_experiment(path)
        for kind, spec in exp.sweeps(fast).values():
            expand(build_space(kind, spec))
    except NnctlError as exc:
        one_line(exc)
        if "unknown key" in str(exc):
            assert "valid: " in str(exc)
        return
    assert set(exp.raw) <= TOP_KEYS
    assert all(set(s) <= SWEEP_KEYS for s in (exp.raw.get("sweeps") or {}).values())


@FUZZ
@given(
    st.one_of(
        st.sampled_from(EXPECTS),
        st.text(max_size=40),
        st.text(st.sampled_from(list("val_c[]=,.@()<>-+*/ 0123456789andorx")), max_size=40),
    )
)
@example("(" * 2000 + "1" + ")" * 2000 + " > 0")  # RecursionError
@example("-" * 3000 + "1 > 0")
@example("val_acc@" + "9" * 5000 + " > 0")  # ValueError: integer string too long
@example("+".join(["1"] * 3000) + " > 0")  # parsed, then RecursionError while evaluating
@example(" and ".join(["val_acc > 0"] * 3000))
@example("*".join(["val_acc"] * 150) + " > 0")
def test_expectations_parse_or_raise_typed_errors(text):
    """Expectation texts parse and evaluate to a verdict, or raise a typed error."""
    try:
        expectation = Expectation(text)
    except NnctlError as exc:
        one_line(exc)
        return
    verdict, terms = expectation.evaluate(lambda selector: [0.5, 0.25])
    assert isinstance(verdict, bool) and len(terms) == len(expectation.selectors)
