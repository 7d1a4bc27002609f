"""Initializers: variances match their formulas, bounds hold, specs round-trip, bad values fail clearly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, UnknownComponentError
from nnctl.core.initializers import INITIALIZERS, TRUNCATED_STD, Initializer, get_initializer

SHAPE = (1000, 1000)


def draw(spec: str, fan_in: int = 1000, fan_out: int = 1000, seed: int = 0, shape=SHAPE) -> np.ndarray:
    return get_initializer(spec)(shape, fan_in, fan_out, np.random.default_rng(seed))


def assert_close(value: float, target: float, rel: float = 0.05) -> None:
    assert abs(value - target) <= rel * target, f"{value} is not within {rel:.0%} of {target}"


# --- variances --------------------------------------------------------------------------------------

VARIANCE_CASES = [
    # spec, fan_in, fan_out, expected variance
    ("normal", 1000, 1000, 1.0),
    ("normal:std=0.01", 1000, 1000, 1e-4),
    ("uniform", 1000, 1000, 0.05**2 / 3),
    ("uniform:limit=0.3", 1000, 1000, 0.3**2 / 3),
    ("truncated_normal", 1000, 1000, 0.7737413 * 0.05**2),
    ("glorot_normal", 1000, 500, 2 / 1500),
    ("glorot_uniform", 1000, 500, 2 / 1500),
    ("xavier_normal", 300, 100, 2 / 400),
    ("he_normal", 1000, 500, 2 / 1000),
    ("he_uniform", 1000, 500, 2 / 1000),
    ("kaiming_normal", 250, 4000, 2 / 250),
    ("lecun_normal", 1000, 500, 1 / 1000),
    ("lecun_uniform", 1000, 500, 1 / 1000),
    ("orthogonal", 1000, 1000, 1 / 1000),  # each row of an orthogonal n×n matrix has unit norm
    ("orthogonal:gain=2.0", 1000, 1000, 4 / 1000),
]


@pytest.mark.parametrize("spec, fan_in, fan_out, expected", VARIANCE_CASES)
def test_empirical_variance_matches_formula(spec, fan_in, fan_out, expected):
    w = draw(spec, fan_in, fan_out)
    assert w.shape == SHAPE and w.dtype == np.float64
    assert_close(float(w.var()), expected)
    assert abs(float(w.mean())) < 0.01 * math.sqrt(expected)


@pytest.mark.parametrize("mode, n", [("fan_in", 1000), ("fan_out", 500), ("fan_avg", 750)])
@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated_normal"])
def test_variance_scaling_modes_and_distributions(mode, n, distribution):
    w = draw(f"variance_scaling:scale=2.0,mode={mode},distribution={distribution}", 1000, 500)
    assert_close(float(w.var()), 2.0 / n)


def test_notes_he_variant_is_he_with_fan_average():
    # the notes' He "σ² = 4/(n_in + n_out)" = 2 / fan_avg
    w = draw("variance_scaling:scale=2.0,mode=fan_avg", 1000, 500)
    assert_close(float(w.var()), 4 / 1500)


def test_constant_and_zeros():
    assert np.all(draw("zeros", shape=(3, 4)) == 0.0)
    assert np.all(draw("constant:0.01", shape=(5,)) == 0.01)
    assert draw("constant", shape=(2,)).dtype == np.float64


# --- bounds -----------------------------------------------------------------------------------------


def test_uniform_bounds():
    w = draw("uniform:limit=0.2")
    assert w.min() >= -0.2 and w.max() <= 0.2
    assert w.min() < -0.199 and w.max() > 0.199  # the whole interval is used
    limit = math.sqrt(6 / 1500)
    g = draw("glorot_uniform", 1000, 500)
    assert g.min() >= -limit and g.max() <= limit and g.max() > 0.999 * limit
    h = draw("he_uniform", 200, 7)
    assert np.abs(h).max() <= math.sqrt(6 / 200)


def test_truncated_normal_stays_within_two_sigma():
    w = draw("truncated_normal:mean=1.0,std=0.1")
    assert w.min() >= 1.0 - 0.2 and w.max() <= 1.0 + 0.2
    assert w.min() < 0.81 and w.max() > 1.19
    assert_close(float(w.std()), 0.1 * TRUNCATED_STD, rel=0.01)


def test_variance_scaling_truncated_is_cut_at_two_of_its_enlarged_sigma():
    w = draw("variance_scaling:mode=fan_in,distribution=truncated_normal", 100, 10, shape=(400, 500))
    sigma = math.sqrt(1 / 100) / TRUNCATED_STD
    assert np.abs(w).max() <= 2 * sigma
    assert np.abs(w).max() > 1.99 * sigma


def test_truncated_std_constant():
    # std of N(0,1) cut at ±2: sqrt(1 − 2·2·φ(2)/(Φ(2) − Φ(−2)))
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2 / math.sqrt(2))
    assert TRUNCATED_STD == pytest.approx(math.sqrt(1 - 4 * phi2 / mass), rel=1e-12)


# --- orthogonal -------------------------------------------------------------------------------------


def test_orthogonal_square_tall_and_wide():
    w = draw("orthogonal", shape=(300, 300))
    np.testing.assert_allclose(w.T @ w, np.eye(300), atol=1e-10)
    tall = draw("orthogonal", shape=(200, 50))
    np.testing.assert_allclose(tall.T @ tall, np.eye(50), atol=1e-10)
    wide = draw("orthogonal:gain=3.0", shape=(40, 120))
    np.testing.assert_allclose(wide @ wide.T, 9 * np.eye(40), atol=1e-9)


def test_orthogonal_flattens_trailing_dimensions():
    w = draw("orthogonal", shape=(16, 3, 3, 3))  # 16 × 27: orthonormal rows
    assert w.shape == (16, 3, 3, 3)
    flat = w.reshape(16, -1)
    np.testing.assert_allclose(flat @ flat.T, np.eye(16), atol=1e-10)


def test_orthogonal_rejects_vectors():
    with pytest.raises(ConfigError, match=r"orthogonal.*at least 2 dimensions.*\(10,\)"):
        draw("orthogonal", shape=(10,))


# --- determinism, registry, spec round-trip ---------------------------------------------------------


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_same_seed_same_numbers(name):
    a = draw(name, 30, 20, seed=7, shape=(30, 20))
    b = draw(name, 30, 20, seed=7, shape=(30, 20))
    np.testing.assert_array_equal(a, b)
    if name not in ("zeros", "constant"):
        assert not np.array_equal(a, draw(name, 30, 20, seed=8, shape=(30, 20)))


@pytest.mark.parametrize("name", INITIALIZERS.names())
def test_every_initializer_round_trips_through_its_spec(name):
    init = INITIALIZERS.get(name)
    assert isinstance(init, Initializer)
    again = INITIALIZERS.get(init.spec())
    assert again == init and again.spec() == init.spec()


@pytest.mark.parametrize(
    "spec",
    [
        "constant:value=-0.5",
        "normal:mean=0.1,std=0.02",
        "uniform:limit=1e-3",
        "truncated_normal:std=0.2",
        "variance_scaling:scale=2.0,mode=fan_avg,distribution=truncated_normal",
        "orthogonal:gain=1.4142135623730951",
    ],
)
def test_nondefault_specs_round_trip(spec):
    init = INITIALIZERS.get(spec)
    assert INITIALIZERS.get(init.spec()) == init
    assert INITIALIZERS.get(init.spec()).get_config() == init.get_config()


def test_presets_have_no_hyperparameters_and_equal_their_variance_scaling_form():
    he = INITIALIZERS.get("he_normal")
    assert he.spec() == "he_normal" and he.get_config() == {}
    assert INITIALIZERS.get("kaiming_normal") == he
    explicit = INITIALIZERS.get("variance_scaling:scale=2.0,mode=fan_in,distribution=normal")
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(he((20, 10), 20, 10, rng_a), explicit((20, 10), 20, 10, rng_b))
    assert INITIALIZERS.get("xavier_uniform").spec() == "glorot_uniform"


def test_constant_positional_value():
    assert INITIALIZERS.get("constant:0.01").value == 0.01


# --- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, pattern",
    [
        ("normal:std=-1.0", r"normal: std=-1\.0 is out of range; allowed: 0 <= std"),
        ("truncated_normal:std=-0.1", r"truncated_normal: std=-0\.1 is out of range"),
        ("uniform:limit=-2", r"uniform: limit=-2\.0 is out of range; allowed: 0 <= limit"),
        ("variance_scaling:scale=0.0", r"variance_scaling: scale=0\.0 is out of range; allowed: 0 < scale"),
        ("variance_scaling:mode=fan_sum", r"mode=fan_sum is not allowed; valid: fan_in, fan_out, fan_avg"),
        ("variance_scaling:distribution=gauss", r"distribution=gauss is not allowed; valid: normal, uniform"),
        ("orthogonal:gain=0.0", r"orthogonal: gain=0\.0 is out of range"),
        ("normal:std=abc", r"normal: std=abc is not allowed; expected a number"),
    ],
)
def test_bad_values_raise_config_error(spec, pattern):
    with pytest.raises(ConfigError, match=pattern):
        INITIALIZERS.get(spec)


def test_nan_is_rejected():
    with pytest.raises(ConfigError, match=r"constant: value=nan is out of range"):
        INITIALIZERS.lookup("constant")(value=float("nan"))
    with pytest.raises(ConfigError, match=r"normal: mean=inf is out of range"):
        INITIALIZERS.get("normal:mean=inf")


def test_mode_typo_suggests_the_closest_choice():
    with pytest.raises(ConfigError, match="did you mean 'fan_avg'"):
        INITIALIZERS.get("variance_scaling:mode=fan_ave")


def test_unknown_initializer_suggests_closest():
    with pytest.raises(UnknownComponentError, match=r"unknown initializer 'he_normall'.*did you mean 'he_normal'"):
        INITIALIZERS.get("he_normall")
    with pytest.raises(UnknownComponentError, match="did you mean 'glorot_uniform'"):
        get_initializer("glorot_unifrom")
