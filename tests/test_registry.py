"""Spec strings: parsing, validation, suggestions and round-trips for every registered component."""

import math

import pytest

from nnctl.core.errors import ConfigError, SpecError, UnknownComponentError
from nnctl.core.registry import format_value, parse_value, split_spec


def all_registries():
    from nnctl.cli.components import registries

    return registries()


@pytest.mark.parametrize(
    "text, value",
    [
        ("1", 1),
        ("-3", -3),
        ("0.5", 0.5),
        ("1e-3", 1e-3),
        ("true", True),
        ("False", False),
        ("none", None),
        ("fan_avg", "fan_avg"),
        ("inf", math.inf),
        (".5", 0.5),
    ],
)
def test_parse_value_types_without_eval(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_parse_value_never_evaluates():
    assert parse_value("__import__('os')") == "__import__('os')"


@pytest.mark.parametrize("value", [0.1, 1e-8, 3, True, None, "normal", 2.5e10, -0.25])
def test_format_value_round_trips(value):
    assert parse_value(format_value(value)) == value


def test_split_spec():
    assert split_spec("adam:beta1=0.9,beta2=0.99") == ("adam", [], {"beta1": "0.9", "beta2": "0.99"})
    assert split_spec("constant:0.01") == ("constant", ["0.01"], {})


@pytest.mark.parametrize(
    "bad", ["", ":", "adam:", "adam:beta1=", "adam:beta1=1,beta1=2", "adam:,", "1adam", "adam:lr=1,0.5"]
)
def test_split_spec_rejects_malformed(bad):
    with pytest.raises(SpecError):
        split_spec(bad)


def test_unknown_name_lists_valid_and_suggests():
    from nnctl.core.optimizers import OPTIMIZERS

    with pytest.raises(UnknownComponentError) as err:
        OPTIMIZERS.get("adma")
    msg = str(err.value)
    assert "unknown optimizer 'adma'" in msg and "sgd" in msg and "did you mean 'adam'" in msg


def test_unknown_key_lists_valid_and_suggests():
    from nnctl.core.optimizers import OPTIMIZERS

    with pytest.raises(SpecError) as err:
        OPTIMIZERS.get("adam:beta3=0.9")
    msg = str(err.value)
    assert "no parameter 'beta3'" in msg and "beta1" in msg and "did you mean" in msg


def test_wrong_type_is_a_config_error():
    from nnctl.core.layers.activations import ACTIVATIONS

    with pytest.raises(ConfigError, match="expected a number"):
        ACTIVATIONS.get("leaky_relu:alpha=abc")


def test_every_registered_component_round_trips():
    checked = 0
    for kind, reg in all_registries().items():
        for name in reg.names():
            if name in ("residual",):
                continue  # holds layers; round-trips through its config instead (test_layers)
            comp = reg.get(name)
            rebuilt = reg.get(comp.spec())
            assert rebuilt == comp, (kind, name, comp.spec())
            assert rebuilt.spec() == comp.spec()
            checked += 1
    assert checked > 60
