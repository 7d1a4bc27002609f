"""Spec strings and values: parsing, formatting for messages, and the checks every value passes.

A spec string names a component and optionally sets hyperparameters::

    adam                      -> Adam()
    adam:beta1=0.9,beta2=0.99 -> Adam(beta1=0.9, beta2=0.99)
    constant:0.01             -> Constant(value=0.01)   (positional values fill parameters in order)

Values are parsed as int, float, bool (true/false), none, or plain strings; nothing is evaluated.
The checks (:func:`check_range`, :func:`check_int`, :func:`check_choice`) are the one way a value
is tested against what is allowed, with the one message format: ``<component>: <key>=<value> is
out of range; allowed: <low> <= <key> <= <high>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from .errors import ConfigError, SpecError, suggestion

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_INT_RE = re.compile(r"^[+-]?\d+$")
# unambiguous (digits after the point only follow a point), so a long non-number fails in linear time
_FLOAT_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
#: longest integer literal a spec may hold (Python refuses to convert longer digit strings).
MAX_INT_DIGITS = 4300
#: integer hyperparameters must be below this in magnitude (what NumPy's int64 holds).
MAX_INT = 2**63


def parse_value(text: str) -> Any:
    """Parse one hyperparameter value: int, float, bool, None or a bare string (never evaluated)."""
    s = text.strip()
    low = s.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    if _INT_RE.match(s):
        digits = len(s.lstrip("+-"))
        if digits > MAX_INT_DIGITS:
            raise SpecError(
                f"value {s[:12]}... has {digits} digits; allowed: integers of at most {MAX_INT_DIGITS} digits"
            )
        return int(s)
    if _FLOAT_RE.match(s):
        return float(s)
    if low in ("inf", "+inf", "infinity"):
        return math.inf
    if low in ("-inf", "-infinity"):
        return -math.inf
    return s


def format_value(value: Any) -> str:
    """Format a value so that :func:`parse_value` gives it back exactly."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        text = repr(value)
        return text
    if isinstance(value, (list, tuple)):
        return "x".join(format_value(v) for v in value)
    if isinstance(value, int) and value.bit_length() > 14000:  # past str()'s digit limit
        return f"<an integer of {value.bit_length()} bits>"
    return str(value)


def shown(value: Any, limit: int = 60) -> str:
    """``format_value`` for messages: one line (text with control characters is quoted), and long
    values cut to ``limit`` characters."""
    text = format_value(value)
    text = text if text.isprintable() and text.strip() else repr(text)
    return text if len(text) <= limit else f"{text[: limit - 20]}... ({len(text)} characters)"


def quoted(name: Any) -> str:
    """A name for a message: ``'name'``, or its ``repr`` when it is not printable text."""
    if isinstance(name, str) and name.isprintable() and name.strip():
        return f"'{name}'" if len(name) <= 60 else f"'{name[:40]}...' ({len(name)} characters)"
    return shown(name) if isinstance(name, str) else repr(name)


def split_spec(spec: str) -> tuple[str, list[str], dict[str, str]]:
    """Split ``name:a,b,key=value`` into (name, positional texts, keyword texts)."""
    if not isinstance(spec, str):
        raise SpecError(f"expected a spec string like 'name' or 'name:key=value', got {shown(spec)}")
    text = spec.strip()
    if not text:
        raise SpecError("empty spec string; expected 'name' or 'name:key=value,...'")
    name, sep, rest = text.partition(":")
    name = name.strip()
    if not _NAME_RE.match(name):
        raise SpecError(f"invalid component name {name!r} in spec {spec!r}; names are letters, digits and '_'")
    positional: list[str] = []
    keywords: dict[str, str] = {}
    if sep:
        if not rest.strip():
            raise SpecError(f"spec {spec!r} has ':' but no parameters after it")
        for item in rest.split(","):
            item = item.strip()
            if not item:
                raise SpecError(f"empty parameter in spec {spec!r} (two commas in a row?)")
            key, eq, value = item.partition("=")
            if eq:
                key = key.strip()
                if not _NAME_RE.match(key):
                    raise SpecError(f"invalid parameter name {key!r} in spec {spec!r}")
                if key in keywords:
                    raise SpecError(f"parameter {key!r} given twice in spec {spec!r}")
                if not value.strip():
                    raise SpecError(f"parameter {key!r} has no value in spec {spec!r}")
                keywords[key] = value.strip()
            else:
                if keywords:
                    raise SpecError(f"positional value {item!r} after key=value parameters in spec {spec!r}")
                positional.append(item)
    return name.lower().replace("-", "_"), positional, keywords


def check_int(component: str, key: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int when it is an integer (or an integral float) with ``low <= value <= high``;
    otherwise ConfigError: ``<component>: <key>=<value> is not allowed; expected an integer >= low``
    (or ``from low to high``). One rule for every count: epochs, patience, widths, steps, repeats."""
    integral = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
    ok = integral and not isinstance(value, bool)
    if ok and low is not None:
        ok = value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        prefix = f"{component}: " if component else ""
        if low is None:
            bounds = "" if high is None else f" <= {high:,}"
        else:
            bounds = f" >= {low:,}" if high is None else f" from {low:,} to {high:,}"
        raise ConfigError(f"{prefix}{key}={shown(value)} is not allowed; expected an integer{bounds}")
    return int(value)


def check_range(
    component: str,
    key: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raise ConfigError unless ``low <= value <= high`` (bounds optional, inclusiveness set)."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    # NaN, ±inf and integers beyond the float range (which components store as floats) are never in range
    if isinstance(value, float):
        finite = math.isfinite(value)
    else:
        finite = number and abs(value) < 2**1024
    ok = finite
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if ok:
        return
    lo = "" if low is None else f"{format_value(low)} {'<=' if low_inclusive else '<'} "
    hi = "" if high is None else f" {'<=' if high_inclusive else '<'} {format_value(high)}"
    extra = " (a finite number)" if number and not finite and "inf" not in lo + hi else ""
    raise ConfigError(f"{component}: {key}={shown(value)} is out of range; allowed: {lo}{key}{hi}{extra}")


def check_choice(component: str, key: str, value: Any, choices: Iterable[str]) -> None:
    """Raise ConfigError unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(
            f"{component}: {key}={shown(value)} is not allowed; valid: {', '.join(choices)}"
            + suggestion(format_value(value), choices)
        )
