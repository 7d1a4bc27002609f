"""The run configuration: every option of a training run, its default, and its validation.

One :class:`RunConfig` describes a run completely. Flags, ``--config`` files (TOML or JSON) and sweep
axes all produce the same dict of options; :func:`RunConfig.from_dict` checks every key and value,
and :func:`~nnctl.training.setup.prepare` resolves every default (``loss=auto`` becomes the loss
the task calls for, component specs get all their hyperparameters; ``init=auto`` stays the rule
that picks each layer's initializer, which the layer list records) so that ``config.json`` replays the run exactly.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import field
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, DataError, suggestion
from ..core.registry import quoted
from .options import BY_NAME, MAX_EPOCHS, MAX_NAME, MONITORS, OPTIONS, short  # noqa: F401  (re-exported)


class _RunConfigMethods:
    """What every RunConfig can do; its fields come from :data:`~nnctl.training.options.OPTIONS`."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Coerce and check every value; raise ConfigError saying what was received and what is allowed."""
        for option in OPTIONS:
            value = option.coerce(getattr(self, option.name))
            option.check(value)
            setattr(self, option.name, value)
        if self.val_split + self.test_split >= 1.0:  # type: ignore[attr-defined]
            raise ConfigError(
                f"val_split + test_split = {self.val_split + self.test_split:g} leaves no training data; "  # type: ignore[attr-defined]
                "allowed: val_split + test_split < 1"
            )

    @classmethod
    def option_names(cls) -> list[str]:
        return [o.name for o in OPTIONS]

    @classmethod
    def from_dict(cls, options: dict[str, Any], *, base: Any = None) -> Any:
        """Build from a dict of options (unknown keys are errors), on top of ``base`` if given."""
        names = cls.option_names()
        if not isinstance(options, dict):
            raise ConfigError(f"run options must be a table of option = value, got {type(options).__name__}")
        values = dataclasses.asdict(base) if base is not None else {}
        values.pop("extra", None)
        for key, value in options.items():
            norm = str(key).replace("-", "_")
            if norm not in BY_NAME:
                raise ConfigError(
                    f"unknown option {quoted(key)}; valid: {', '.join(names)}" + suggestion(norm.lower(), names)
                )
            values[norm] = BY_NAME[norm].coerce(value)
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> Any:
        """The run configuration in a TOML or JSON options file (see :func:`read_options_file`)."""
        return cls.from_dict(read_options_file(path))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)  # type: ignore[call-overload]
        if not d.get("extra"):
            d.pop("extra", None)
        return d

    def replace(self, **changes: Any) -> Any:
        return type(self).from_dict(changes, base=self)


RunConfig = dataclasses.make_dataclass(
    "RunConfig",
    [(o.name, Any, field(default=o.default)) for o in OPTIONS] + [("extra", dict, field(default_factory=dict))],
    bases=(_RunConfigMethods,),
)
RunConfig.__module__ = __name__
RunConfig.__doc__ = """All options of one training run (names match the CLI flags with '-' → '_').

The fields, their defaults and their checks come from :data:`nnctl.training.options.OPTIONS`."""
RunConfig.MONITORS = MONITORS  # type: ignore[attr-defined]


# --- option files ----------------------------------------------------------------------------------


def read_table_file(path: str | Path, what: str) -> dict[str, Any]:
    """The top-level table of a TOML (or, for a ``.json`` suffix, JSON) file, parsed as data.

    Every way a file can fail to be read — missing, unreadable, not UTF-8, malformed, nested too
    deeply, an integer too long to convert, not a table at the top — is a DataError or ConfigError
    whose one-line message names the file (``what`` says what the file is, e.g. "config file").
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{what} '{path}' is a directory; expected a TOML or JSON file")
    if not path.is_file():
        raise DataError(
            f"{what} '{path}' does not exist" if not path.exists() else f"{what} '{path}' is not a regular file"
        )
    suffix = path.suffix.lower()
    raw = b""
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if suffix == ".json" else tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{what} '{path}' is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}: "
            "binary data?); expected a TOML or JSON file"
        ) from None
    except OSError as exc:
        raise DataError(f"{what} '{path}' cannot be read: {exc.strerror or type(exc).__name__}") from None
    except RecursionError:
        raise ConfigError(f"{what} '{path}' cannot be parsed: values are nested too deeply") from None
    except ValueError as exc:  # TOMLDecodeError, JSONDecodeError, UnicodeDecodeError, over-long integers
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "integer string conversion" in first:
            first = "an integer has more than 4300 digits"
        raise ConfigError(f"{what} '{path}' cannot be parsed: {first}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{what} '{path}' must hold a table of options, got {type(data).__name__}")
    return data


def read_options_file(path: str | Path) -> dict[str, Any]:
    """Run options from a ``.toml`` or ``.json`` file (what ``nnctl train --config FILE`` reads).

    A run's ``config.json`` is accepted as is (its ``config`` section holds the options), and so is
    a TOML file whose options sit in a ``[run]`` table.
    """
    path = Path(path)
    if path.is_file() and path.suffix.lower() not in (".toml", ".json"):
        raise ConfigError(f"config file '{path}' must end in .toml or .json")
    data = read_table_file(path, "config file")
    if isinstance(data.get("config"), dict):
        data = data["config"]
    if isinstance(data.get("run"), dict):  # [run] table in TOML
        data = data["run"]
    return dict(data)
