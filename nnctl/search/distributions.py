"""Distributions for random search: ``uniform:a:b``, ``loguniform:a:b``, ``int:a:b``, ``choice:x,y,z``.

Random search (Bergstra & Bengio, 2012) draws every hyperparameter independently; with the same
budget it explores each important axis far more finely than a grid does. The forms follow Guild AI
(``loguniform[a:b]``) and Weights & Biases (``log_uniform_values``, ``int_uniform``), with bounds
written as the values themselves:

``uniform:a:b``      x ~ U(a, b)
``loguniform:a:b``   log x ~ U(log a, log b), 0 < a < b: every decade gets the same share of samples,
                     which is what learning rates and weight decays need (1e-4..1e-1 spends a third of
                     its samples in each of [1e-4, 1e-3], [1e-3, 1e-2], [1e-2, 1e-1])
``int:a:b``          an integer in a..b, both ends included, each equally likely
``choice:x,y,z``     one of the listed values, each equally likely (``;`` separates values that
                     contain commas: ``choice:mlp:64;mlp:128,64``)

Continuous samples are rounded to 6 significant digits so that configs, CSV files and trial ids
stay readable; the rounding moves a sample by at most 5e-6 of its value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError

_NUMBER = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"  # unambiguous: linear-time failure
_RANGE = re.compile(rf"^(uniform|loguniform|int):({_NUMBER}):({_NUMBER})$")
FORMS = "uniform:a:b, loguniform:a:b, int:a:b, choice:x,y,z"
#: largest |bound| of int:a:b (integers up to 2**53 are exact as floats).
MAX_INT_BOUND = 2**53


def split_values(text: str) -> list[str]:
    """Split a value list: by ``;`` when the text contains one, else by commas; blanks are dropped.

    ``0.1,0.01`` → ['0.1', '0.01'];  ``mlp:64;mlp:128,64`` → ['mlp:64', 'mlp:128,64'];
    ``mlp:128,64;`` → ['mlp:128,64'] (a trailing ``;`` keeps one value with commas whole).
    """
    sep = ";" if ";" in text else ","
    return [part.strip() for part in text.split(sep) if part.strip()]


@dataclass(frozen=True)
class Distribution:
    """A one-dimensional distribution to sample an axis from. ``kind`` is uniform|loguniform|int|choice."""

    kind: str
    low: float = 0.0
    high: float = 0.0
    values: tuple[Any, ...] = ()

    @property
    def discrete(self) -> bool:
        return self.kind in ("int", "choice")

    def support(self) -> list[Any]:
        """Every value of a discrete distribution, in order (a lazy ``range`` for ``int``)."""
        if self.kind == "choice":
            return list(self.values)
        if self.kind == "int":
            return range(int(self.low), int(self.high) + 1)  # type: ignore[return-value]
        raise ConfigError(f"'{self}' is continuous; it has no finite list of values")

    def sample(self, rng: np.random.Generator) -> Any:
        """One draw from ``rng``; continuous draws are rounded but stay within [low, high]."""
        if self.kind == "uniform":
            return self._clip(round_draw(rng.uniform(self.low, self.high)))
        if self.kind == "loguniform":
            return self._clip(round_draw(math.exp(rng.uniform(math.log(self.low), math.log(self.high)))))
        if self.kind == "int":
            return int(rng.integers(int(self.low), int(self.high), endpoint=True))
        return self.values[int(rng.integers(len(self.values)))]

    def __str__(self) -> str:
        if self.kind == "choice":
            items = [str(v) for v in self.values]
            sep = ";" if any("," in item for item in items) else ","
            return "choice:" + sep.join(items) + (";" if sep == ";" and len(items) == 1 else "")
        if self.kind == "int":
            return f"int:{int(self.low)}:{int(self.high)}"
        return f"{self.kind}:{self.low!r}:{self.high!r}"

    def _clip(self, x: float) -> float:
        return min(max(x, self.low), self.high)


def _exact_int(text: str, value: float) -> int:
    """The integer a bound's text spells (exact for digit strings, which floats may round)."""
    digits = text.strip().lstrip("+-")
    if digits.isascii() and digits.isdigit():
        return int(text) if len(digits) <= 30 else (MAX_INT_BOUND + 1) * (-1 if text.strip()[0] == "-" else 1)
    return int(value)


def round_draw(x: float) -> float:
    """A drawn value to 6 significant digits, so that it reads as written and names its trial stably."""
    return float(f"{x:.6g}")


def is_distribution(text: Any) -> bool:
    return isinstance(text, str) and (text.startswith("choice:") or _RANGE.match(text.strip()) is not None)


def parse_distribution(key: str, text: str) -> Distribution:
    """Parse one of the forms above for axis ``key``; ConfigError says what was received."""
    text = text.strip()
    if text.startswith("choice:"):
        values = split_values(text[len("choice:") :])
        if not values:
            raise ConfigError(f"{key}={text!r}: choice needs at least one value, e.g. choice:relu,tanh")
        return Distribution("choice", values=tuple(values))
    match = _RANGE.match(text)
    if match is None:
        raise ConfigError(f"{key}={text!r} is not a distribution; allowed: {FORMS}")
    kind, low, high = match.group(1), float(match.group(2)), float(match.group(3))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ConfigError(f"{key}={text!r}: the bounds of {kind}:a:b must be finite numbers")
    if kind == "int":
        if not (low.is_integer() and high.is_integer()):
            raise ConfigError(f"{key}={text!r}: int bounds must be integers, e.g. int:16:128")
        exact = [_exact_int(match.group(i), v) for i, v in ((2, low), (3, high))]
        if max(abs(b) for b in exact) > MAX_INT_BOUND:
            raise ConfigError(f"{key}={text!r}: int bounds are out of range; allowed: -2**53 <= a <= b <= 2**53")
        if low > high:
            raise ConfigError(f"{key}={text!r}: int:a:b needs a <= b")
    elif not low < high:
        raise ConfigError(f"{key}={text!r}: {kind}:a:b needs a < b")
    if kind == "uniform" and not math.isfinite(high - low):
        raise ConfigError(f"{key}={text!r}: uniform:a:b needs b - a to be a finite number")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"{key}={text!r}: loguniform:a:b needs 0 < a < b (it samples log x)")
    return Distribution(kind, low, high)
