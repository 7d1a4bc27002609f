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
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, DataError, suggestion
from ..core.registry import check_choice, check_range, quoted

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}")
MAX_EPOCHS = 1_000_000
MAX_NAME = 60  # characters of --name: it becomes part of a directory name


@dataclass
class RunConfig:
    """All options of one training run (names match the CLI flags with '-' → '_')."""

    # data
    data: str = "digits"
    target: str | None = None
    task: str = "auto"
    val_split: float = 0.1
    test_split: float = 0.2
    standardize: bool = True
    # model
    model: str = "mlp:128,64"
    activation: str = "relu"
    init: str = "auto"
    bias_init: str = "zeros"
    dropout: float = 0.0
    input_dropout: float = 0.0
    batch_norm: bool = False
    dtype: str = "float32"
    # objective and optimization
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float | str | None = None  # a rate, or "auto": the range test picks it (see training/lr_find.py)
    schedule: str = "constant"
    clip_norm: float | None = None
    clip_value: float | None = None
    l1: float = 0.0
    l2: float = 0.0
    augment: str | None = None
    epochs: int = 30
    batch_size: int | str = 32
    early_stopping: int | None = None
    monitor: str = "val_loss"
    min_delta: float = 0.0
    restore_best: bool = True
    diagnostics: bool = False
    seed: int = 0
    threads: int | None = None  # BLAS threads (see training/threads.py); None: every core, 1 per sweep trial
    # bookkeeping
    name: str = ""
    results_dir: str = "results"
    extra: dict[str, Any] = field(default_factory=dict)

    MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc", "val_mae")
    TASKS = ("auto", "classification", "regression")

    def __post_init__(self) -> None:
        self.validate()

    # --- validation ------------------------------------------------------------------------------
    def validate(self) -> None:
        """Check every value; raise ConfigError saying what was received and what is allowed."""
        check_range("run", "val_split", self.val_split, 0.0, 1.0, high_inclusive=False)
        check_range("run", "test_split", self.test_split, 0.0, 1.0, high_inclusive=False)
        if self.val_split + self.test_split >= 1.0:
            raise ConfigError(
                f"val_split + test_split = {self.val_split + self.test_split:g} leaves no training data; "
                "allowed: val_split + test_split < 1"
            )
        check_choice("run", "task", self.task, self.TASKS)
        check_choice("run", "dtype", self.dtype, ("float32", "float64"))
        check_range("run", "dropout", self.dropout, 0.0, 1.0, high_inclusive=False)
        check_range("run", "input_dropout", self.input_dropout, 0.0, 1.0, high_inclusive=False)
        if self.lr is not None and self.lr != "auto":
            check_range("run", "lr", self.lr, 0.0)
        if self.clip_norm is not None:
            check_range("run", "clip_norm", self.clip_norm, 0.0, low_inclusive=False)
        if self.clip_value is not None:
            check_range("run", "clip_value", self.clip_value, 0.0, low_inclusive=False)
        check_range("run", "l1", self.l1, 0.0)
        check_range("run", "l2", self.l2, 0.0)
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or not 0 <= self.epochs <= MAX_EPOCHS:
            raise ConfigError(f"epochs={_short(self.epochs)} is not allowed; expected an integer from 0 to {MAX_EPOCHS:,}")
        if len(self.name) > MAX_NAME:
            raise ConfigError(f"name={_short(self.name, 40)} has {len(self.name)} characters; allowed: at most {MAX_NAME} "
                              "(the run id ends with it)")
        self.batch_size = parse_batch_size(self.batch_size)
        if self.early_stopping is not None:
            if not isinstance(self.early_stopping, int) or self.early_stopping < 1:
                raise ConfigError(
                    f"early_stopping={self.early_stopping!r} is not allowed; expected a patience >= 1 (epochs)"
                )
        check_choice("run", "monitor", self.monitor, self.MONITORS)
        check_range("run", "min_delta", self.min_delta, 0.0)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ConfigError(f"seed={self.seed!r} is not allowed; expected an integer >= 0")
        if self.threads is not None and (not isinstance(self.threads, int) or not 1 <= self.threads <= 1024):
            raise ConfigError(f"threads={self.threads!r} is not allowed; expected an integer from 1 to 1024")

    # --- conversion ------------------------------------------------------------------------------
    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]

    @classmethod
    def from_dict(cls, options: dict[str, Any], *, base: "RunConfig | None" = None) -> "RunConfig":
        """Build from a dict of options (unknown keys are errors), on top of ``base`` if given."""
        names = cls.option_names()
        if not isinstance(options, dict):
            raise ConfigError(f"run options must be a table of option = value, got {type(options).__name__}")
        values = dataclasses.asdict(base) if base is not None else {}
        values.pop("extra", None)
        for key, value in options.items():
            norm = str(key).replace("-", "_")
            if norm not in names:
                raise ConfigError(
                    f"unknown option {quoted(key)}; valid: {', '.join(names)}" + suggestion(norm.lower(), names)
                )
            values[norm] = _coerce_option(norm, value)
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> "RunConfig":
        """The run configuration in a TOML or JSON options file (see :func:`read_options_file`)."""
        return cls.from_dict(read_options_file(path))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if not d.get("extra"):
            d.pop("extra", None)
        return d

    def replace(self, **changes: Any) -> "RunConfig":
        return RunConfig.from_dict(changes, base=self)


_FLOATS = {"val_split", "test_split", "dropout", "input_dropout", "lr", "clip_norm", "clip_value", "l1", "l2", "min_delta"}
_INTS = {"epochs", "early_stopping", "seed", "threads"}
_BOOLS = {"standardize", "batch_norm", "restore_best", "diagnostics"}


def _coerce_option(key: str, value: Any) -> Any:
    """Accept the natural types for each option (numbers from TOML/JSON/strings), reject the rest."""
    if value is None:
        return None
    if key == "lr" and isinstance(value, str):
        if value.strip().lower() == "auto":
            return "auto"
        try:
            return float(value)
        except ValueError:
            raise ConfigError(f"lr={value!r} is not allowed; expected a number or 'auto'") from None
    if key in _FLOATS:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"{key}={value!r} is not allowed; expected a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}={_short(value)} is not allowed; expected a number")
        try:
            return float(value)
        except OverflowError:  # an integer beyond the float range
            raise ConfigError(f"{key}={_short(value)} is out of range; allowed: a finite number") from None
    if key in _INTS:
        if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}={_short(value)} is not allowed; expected an integer")
        return value
    if key in _BOOLS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}={_short(value)} is not allowed; expected true or false")
    if key == "batch_size":
        return parse_batch_size(value)
    if not isinstance(value, str):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if key in ("name", "data", "model") and number and not (isinstance(value, int) and value.bit_length() > 256):
            return str(value)
        raise ConfigError(f"{key}={_short(value)} is not allowed; expected a string")
    return value


def _short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters (huge integers included)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_batch_size(value: Any) -> int | str:
    """A positive integer (1 = stochastic gradient descent) or 'full' (batch gradient descent)."""
    if isinstance(value, str):
        if value.strip().lower() == "full":
            return "full"
        if _INT_TEXT.fullmatch(value.strip()):
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"batch_size={_short(value)} is not allowed; expected a positive integer (1 = stochastic) or 'full'"
        )
    return value


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
        raise DataError(f"{what} '{path}' does not exist" if not path.exists() else f"{what} '{path}' is not a regular file")
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
