"""Hypothesis settings shared by the fuzz tests: 500 examples per property, reproducible in CI.

``database=None`` keeps CI from replaying examples saved by earlier local runs, so every run draws
the same examples from hypothesis's derandomized seed; the 2 s deadline turns a hang (catastrophic
regex backtracking, an exponential expansion) into a failure that names the input.
"""

from hypothesis import HealthCheck, settings

FUZZ = settings(
    max_examples=500,
    deadline=2000,
    database=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
