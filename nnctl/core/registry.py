"""Component registries and the spec-string language.

Every component kind (initializer, activation, loss, optimizer, schedule, regularizer, dataset, ...)
has one :class:`Registry`. A component is a class whose ``__init__`` takes keyword hyperparameters
with defaults; the signature *is* the schema: it names the valid keys and their defaults, and
:meth:`Component.get_config` reads the values back from attributes of the same names.

Spec strings (``adam:beta1=0.9``) are parsed by :mod:`nnctl.core.specs`; a registry maps their
names to classes and checks their hyperparameters against the class's signature.
``registry.get(component.spec())`` rebuilds an identical component (round-trip).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar

from .errors import ConfigError, SpecError, UnknownComponentError, suggestion
from .specs import (  # noqa: F401  (re-exported: the checks are part of every component's vocabulary)
    MAX_INT,
    MAX_INT_DIGITS,
    check_choice,
    check_int,
    check_range,
    format_value,
    parse_value,
    quoted,
    shown,
    split_spec,
)


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
