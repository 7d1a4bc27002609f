"""Component registries and the spec-string language.

Every component kind (initializer, activation, loss, optimizer, schedule, regularizer, dataset, ...)
has one :class:`Registry`. A component is a class whose ``__init__`` takes keyword hyperparameters
with defaults; the signature *is* the schema: it names the valid keys and their defaults, and
:meth:`Component.get_config` reads the values back from attributes of the same names.

A spec string names a component and optionally sets hyperparameters::

    adam                      -> Adam()
    adam:beta1=0.9,beta2=0.99 -> Adam(beta1=0.9, beta2=0.99)
    constant:0.01             -> Constant(value=0.01)   (positional values fill parameters in order)

Values are parsed as int, float, bool (true/false), none, or plain strings; nothing is evaluated.
``registry.get(component.spec())`` rebuilds an identical component (round-trip).
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from .errors import ConfigError, SpecError, UnknownComponentError, suggestion

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


class Component:
    """Base of every registered component.

    Subclasses take their hyperparameters as keyword arguments of ``__init__`` and store each under
    an attribute of the same name; that is all the registry needs for parsing, validation of keys,
    defaults, printing and round-tripping.
    """

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""

    @classmethod
    def hyperparameters(cls) -> dict[str, Any]:
        """The hyperparameters this component takes, in order, with their defaults."""
        out: dict[str, Any] = {}
        for p in inspect.signature(cls.__init__).parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            out[p.name] = None if p.default is inspect.Parameter.empty else p.default
        return out

    def get_config(self) -> dict[str, Any]:
        """Every hyperparameter with its current value (defaults made explicit)."""
        return {k: getattr(self, k) for k in self.hyperparameters()}

    def spec(self) -> str:
        """The full spec string; ``registry.get(self.spec())`` rebuilds this component."""
        cfg = self.get_config()
        if not cfg:
            return self.name
        return self.name + ":" + ",".join(f"{k}={format_value(v)}" for k, v in cfg.items())

    def __repr__(self) -> str:
        return f"<{self.kind} {self.spec()}>"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[union-attr]

    __hash__ = object.__hash__


def _coerce(component: str, key: str, value: Any, default: Any) -> Any:
    """Convert a parsed value to the type of the parameter's default, or explain why not."""
    if default is None:  # no type to convert to: numbers only need to fit
        if isinstance(value, float) and math.isfinite(value) and abs(value) >= MAX_INT:
            raise ConfigError(f"{component}: {key}={shown(value)} is out of range; allowed: |{key}| < 2**63")
        return _fits(component, key, value)
    if value is None:  # the spec value "none"; a text parameter keeps it as text
        return "none" if isinstance(default, str) else None
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if value in (0, 1):
            return bool(value)
        raise ConfigError(f"{component}: {key}={shown(value)} is not allowed; expected true or false")
    if isinstance(default, int):
        if isinstance(value, bool):
            raise ConfigError(f"{component}: {key}={shown(value)} is not allowed; expected an integer")
        if isinstance(value, int):
            return _fits(component, key, value)
        if isinstance(value, float) and value.is_integer():
            return _fits(component, key, int(value))
        raise ConfigError(f"{component}: {key}={shown(value)} is not allowed; expected an integer")
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{component}: {key}={shown(value)} is not allowed; expected a number")
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            raise ConfigError(f"{component}: {key}={shown(value)} is out of range; allowed: a finite number") from None
    if isinstance(default, str) and not isinstance(value, str):
        return format_value(value)
    return value


def _fits(component: str, key: str, value: Any) -> Any:
    """``value``, unless it is an integer too large for NumPy's int64 (then ConfigError)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= MAX_INT:
        raise ConfigError(f"{component}: {key}={shown(value)} is out of range; allowed: integers below 2**63")
    return value


class _Text:
    """A value read from spec text: text parameters keep the text as written (``path=1e5``), the
    others take the parsed value (:func:`parse_value` checks both: an over-long integer is refused
    either way)."""

    __slots__ = ("text", "value")

    def __init__(self, text: str):
        self.value = parse_value(text)
        self.text = text.strip()


def _parse_text(text: str) -> _Text:
    return _Text(text)


class Registry:
    """Name → component class, with spec parsing, suggestions and descriptions."""

    def __init__(self, kind: str):
        self.kind = kind
        self._classes: dict[str, type[Component]] = {}
        self._aliases: dict[str, str] = {}

    def register(self, name: str, *aliases: str) -> Callable[[type[Component]], type[Component]]:
        """Class decorator: register ``cls`` under ``name`` (and aliases)."""

        def decorate(cls: type[Component]) -> type[Component]:
            if name in self._classes or name in self._aliases:
                raise ValueError(f"{self.kind} {name!r} registered twice")
            cls.name = name
            cls.kind = self.kind
            self._classes[name] = cls
            for alias in aliases:
                self._aliases[alias] = name
            return cls

        return decorate

    def names(self, include_aliases: bool = False) -> list[str]:
        names = list(self._classes)
        if include_aliases:
            names += list(self._aliases)
        return names

    def __contains__(self, name: str) -> bool:
        return name in self._classes or name in self._aliases

    def lookup(self, name: str) -> type[Component]:
        """The class registered as ``name`` (or an alias), or an error listing the valid names."""
        key = name.lower().replace("-", "_") if isinstance(name, str) else None
        key = self._aliases.get(key, key)
        if key not in self._classes:
            valid = self.names(include_aliases=True)
            raise UnknownComponentError(
                f"unknown {self.kind} {quoted(name)}; valid: {', '.join(sorted(self.names()))}"
                + suggestion(str(name), valid)
            )
        return self._classes[key]

    def parse(self, spec: str) -> tuple[type[Component], dict[str, Any]]:
        """Parse a spec into (class, keyword arguments), checking every key."""
        name, positional, keywords = split_spec(spec)
        return self.from_parts(
            name,
            [_parse_text(t) for t in positional],
            {k: _parse_text(t) for k, t in keywords.items()},
            where=f"spec {spec!r}",
        )

    def from_parts(
        self, name: str, positional: list[Any], keywords: dict[str, Any], *, where: str = ""
    ) -> tuple[type[Component], dict[str, Any]]:
        """(class, checked keyword arguments) for a component given as already parsed parts: its
        name, positional values (filling its hyperparameters in order) and keyword values.

        Values may be numbers or text; text parameters keep text as written. Every key is checked
        against the signature and every value coerced to its parameter's type. ``where`` says where
        the parts came from, for messages (``"spec 'adam:1,2,3,4,5,6,7'"``).
        """
        cls = self.lookup(name)
        params = cls.hyperparameters()
        order = list(params)
        at = f" in {where}" if where else ""
        if len(positional) > len(order):
            raise SpecError(
                f"{cls.kind} '{cls.name}' takes at most {len(order)} positional value(s) "
                f"({', '.join(order) or 'none'}), got {len(positional)}{at}"
            )
        kwargs: dict[str, Any] = dict(zip(order, positional))
        for key, value in keywords.items():
            if key not in params:
                raise SpecError(
                    f"{cls.kind} '{cls.name}' has no parameter '{key}'; "
                    f"valid: {', '.join(order) or '(none)'}" + suggestion(key, order)
                )
            if key in kwargs:
                raise SpecError(f"parameter {key!r} given twice{at}")
            kwargs[key] = value
        for key in list(kwargs):
            value = kwargs[key]
            if isinstance(value, _Text):
                value = value.text if isinstance(params[key], str) else value.value
            kwargs[key] = _coerce(cls.name, key, value, params[key])
        return cls, kwargs

    def get(self, spec: str | Component | None, **overrides: Any) -> Component:
        """Build a component from a spec string (or return a ready component unchanged)."""
        if isinstance(spec, Component):
            return spec
        if spec is None:
            raise SpecError(f"no {self.kind} given; valid: {', '.join(sorted(self.names()))}")
        cls, kwargs = self.parse(spec)
        params = cls.hyperparameters()
        for key, value in overrides.items():
            if key in params and key not in kwargs:
                kwargs[key] = value
        try:
            return cls(**kwargs)
        except TypeError as exc:  # a required parameter is missing
            raise SpecError(f"{self.kind} '{cls.name}': {exc}") from None

    def view(self, kind: str, accepts: Callable[[type[Component]], bool]) -> RegistryView:
        """The components of this registry that pass ``accepts``, named ``kind`` in messages."""
        return RegistryView(self, kind, accepts)

    def describe(self) -> list[dict[str, Any]]:
        """One entry per component: name, aliases, hyperparameters with defaults, first doc line."""
        rows = []
        for name, cls in self._classes.items():
            aliases = [a for a, target in self._aliases.items() if target == name]
            doc = inspect.getdoc(cls) or ""
            rows.append(
                {
                    "name": name,
                    "aliases": aliases,
                    "params": cls.hyperparameters(),
                    "summary": doc.splitlines()[0] if doc else "",
                }
            )
        return rows


# --- validation helpers used by components ------------------------------------------------------


class RegistryView:
    """A filtered view of a registry under another kind's name: activations are layers, registered
    in the layer registry, and ``--activation`` or ``nnctl list activations`` see only them."""

    def __init__(self, registry: Registry, kind: str, accepts: Callable[[type[Component]], bool]):
        self.registry = registry
        self.kind = kind
        self.accepts = accepts

    def register(self, name: str, *aliases: str) -> Callable[[type[Component]], type[Component]]:
        def decorate(cls: type[Component]) -> type[Component]:
            if not self.accepts(cls):
                raise TypeError(f"{cls.__name__} is not a {self.kind}")
            cls = self.registry.register(name, *aliases)(cls)
            cls.kind = self.kind
            return cls

        return decorate

    def _mine(self, name: str) -> bool:
        return name in self.registry and self.accepts(self.registry.lookup(name))

    def names(self, include_aliases: bool = False) -> list[str]:
        return [n for n in self.registry.names(include_aliases) if self._mine(n)]

    def __contains__(self, name: str) -> bool:
        return isinstance(name, str) and self._mine(name)

    def lookup(self, name: str) -> type[Component]:
        key = name.lower().replace("-", "_") if isinstance(name, str) else None
        if key is None or not self._mine(key):
            raise UnknownComponentError(
                f"unknown {self.kind} {quoted(name)}; valid: {', '.join(sorted(self.names()))}"
                + suggestion(str(name), self.names(include_aliases=True))
            )
        return self.registry.lookup(key)

    def parse(self, spec: str) -> tuple[type[Component], dict[str, Any]]:
        name, _, _ = split_spec(spec)
        self.lookup(name)
        return self.registry.parse(spec)

    def from_parts(self, name: str, positional: list[Any], keywords: dict[str, Any], *, where: str = ""):
        self.lookup(name)
        return self.registry.from_parts(name, positional, keywords, where=where)

    def get(self, spec: str | Component | None, **overrides: Any) -> Component:
        if isinstance(spec, Component) or spec is None:
            return self.registry.get(spec, **overrides)
        self.lookup(split_spec(spec)[0])
        return self.registry.get(spec, **overrides)

    def describe(self) -> list[dict[str, Any]]:
        return [row for row in self.registry.describe() if self._mine(row["name"])]


def check_int(component: str, key: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an int when it is an integer (or an integral float) with ``low <= value <= high``;
    otherwise ConfigError: ``<component>: <key>=<value> is not allowed; expected an integer`` for the
    wrong type, :func:`check_range`'s message for a value out of range. One rule for every count
    (epochs, patience, widths, steps, repeats)."""
    integral = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
    if isinstance(value, bool) or not integral:
        prefix = f"{component}: " if component else ""
        bounds = (
            f" >= {low}" if low is not None and high is None else f" from {low} to {high}" if low is not None else ""
        )
        raise ConfigError(f"{prefix}{key}={shown(value)} is not allowed; expected an integer{bounds}")
    check_range(component, key, value, low, high)
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
