"""The run configuration: every option of a training run, its default, and its validation.

One :class:`RunConfig` describes a run completely. Flags, ``--config`` files (TOML or JSON) and sweep
axes all produce the same dict of options; :func:`RunConfig.from_dict` checks every key and value,
and :meth:`RunConfig.resolved` makes every default explicit (``init=auto`` becomes the initializer the
activation calls for, ``loss=auto`` the loss the task calls for, component specs get all their
hyperparameters) so that ``config.json`` replays the run exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from ..core.errors import ConfigError, suggestion
from ..core.registry import check_choice, check_range


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
        if not isinstance(self.epochs, int) or isinstance(self.epochs, bool) or self.epochs < 0:
            raise ConfigError(f"epochs={self.epochs!r} is not allowed; expected an integer >= 0")
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

    # --- conversion ------------------------------------------------------------------------------
    @classmethod
    def option_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "extra"]

    @classmethod
    def from_dict(cls, options: dict[str, Any], *, base: "RunConfig | None" = None) -> "RunConfig":
        """Build from a dict of options (unknown keys are errors), on top of ``base`` if given."""
        names = cls.option_names()
        values = dataclasses.asdict(base) if base is not None else {}
        values.pop("extra", None)
        for key, value in options.items():
            norm = key.replace("-", "_")
            if norm not in names:
                raise ConfigError(
                    f"unknown option '{key}'; valid: {', '.join(names)}" + suggestion(norm, names)
                )
            values[norm] = _coerce_option(norm, value)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if not d.get("extra"):
            d.pop("extra", None)
        return d

    def replace(self, **changes: Any) -> "RunConfig":
        return RunConfig.from_dict(changes, base=self)


_FLOATS = {"val_split", "test_split", "dropout", "input_dropout", "lr", "clip_norm", "clip_value", "l1", "l2", "min_delta"}
_INTS = {"epochs", "early_stopping", "seed"}
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
            raise ConfigError(f"{key}={value!r} is not allowed; expected a number")
        return float(value)
    if key in _INTS:
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}={value!r} is not allowed; expected an integer")
        return value
    if key in _BOOLS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise ConfigError(f"{key}={value!r} is not allowed; expected true or false")
    if key == "batch_size":
        return parse_batch_size(value)
    if not isinstance(value, str):
        if key in ("name", "data", "model") and isinstance(value, (int, float)):
            return str(value)
        raise ConfigError(f"{key}={value!r} is not allowed; expected a string")
    return value


def parse_batch_size(value: Any) -> int | str:
    """A positive integer (1 = stochastic gradient descent) or 'full' (batch gradient descent)."""
    if isinstance(value, str):
        if value.strip().lower() == "full":
            return "full"
        if value.strip().isdigit():
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"batch_size={value!r} is not allowed; expected a positive integer (1 = stochastic) or 'full'"
        )
    return value
