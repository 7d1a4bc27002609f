"""Every option of a training run, declared once.

An :class:`Option` says everything there is to know about one run option: its name (the same in
flags, config files, sweep axes and ``config.json``), its type, default, allowed range or choices,
its help text and the help panel it is listed under. Everything else is derived from
:data:`OPTIONS`: the :class:`~nnctl.training.config.RunConfig` dataclass and its coercion and
validation, the ``nnctl train``/``sweep``/``lr-find`` flags and their help (with the real default
and, for components, the registered choices), ``--config`` file reading and the checking of sweep
axes. Adding an option is one entry here plus the code that uses it (see docs/architecture.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from ..core.errors import ConfigError

_INT_TEXT = re.compile(r"[+-]?[0-9]{1,30}")

DATA, MODEL, OPTIMIZATION, RUN = "Data", "Model", "Optimization", "Run"


@dataclass(frozen=True)
class Option:
    """One run option. ``type`` is str, int, float or bool; ``words`` are texts an int or float
    option also takes (``lr=auto``, ``batch_size=full``); ``registry`` names the registry whose
    components the option's value is a spec of (listed in the help; checked when the run is
    prepared); ``choices`` are the only allowed values of a text option."""

    name: str
    type: type
    default: Any
    help: str
    panel: str
    flags: tuple[str, ...] = ()  # extra short flags, e.g. ("-m",)
    low: float | None = None
    high: float | None = None
    high_inclusive: bool = True
    nullable: bool = False  # None allowed (and the default when it is None)
    words: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    registry: str = ""  # "activations", "initializers", ... (see nnctl.cli.components.registries)
    max_length: int | None = None
    text_numbers: bool = False  # a text option that takes a number as its text (a run named 7)
    expect: str = ""  # what the option takes, in words, when the type alone does not say it
    metavar: str = ""  # the help's placeholder for the value; derived from the type when empty
    default_text: str = ""  # the default in words, when its value alone would not explain it

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def coerce(self, value: Any) -> Any:
        """The value as this option's type (numbers from TOML/JSON/flag text), else ConfigError."""
        if value is None:
            if self.nullable:
                return None
            raise ConfigError(f"{self.name}=none is not allowed; {self.expected()}")
        if isinstance(value, str) and value.strip().lower() in self.words:
            return value.strip().lower()
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.strip().lower() in ("true", "yes", "1")
            raise ConfigError(f"{self.name}={short(value)} is not allowed; expected true or false")
        if self.type is int:
            if isinstance(value, str) and _INT_TEXT.fullmatch(value.strip()):
                value = int(value)
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(f"{self.name}={short(value)} is not allowed; {self.expected()}")
            return value
        if self.type is float:
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    raise ConfigError(f"{self.name}={short(value)} is not allowed; {self.expected()}") from None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{self.name}={short(value)} is not allowed; {self.expected()}")
            try:
                return float(value)
            except OverflowError:  # an integer beyond the float range
                raise ConfigError(f"{self.name}={short(value)} is out of range; allowed: a finite number") from None
        if not isinstance(value, str):
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if self.text_numbers and number and not (isinstance(value, int) and value.bit_length() > 256):
                return str(value)
            raise ConfigError(f"{self.name}={short(value)} is not allowed; expected a string")
        return value

    def check(self, value: Any) -> None:
        """Raise ConfigError unless ``value`` (already coerced) is allowed."""
        if value is None or (isinstance(value, str) and value in self.words):
            return
        if self.choices and value not in self.choices:
            from ..core.registry import check_choice

            check_choice("run", self.name, value, self.choices)
        if self.type is int:
            low, high = self.low, self.high
            if (low is not None and value < low) or (high is not None and value > high):
                raise ConfigError(f"{self.name}={short(value)} is not allowed; {self.expected(bounds=True)}")
        elif self.type is float and (self.low is not None or self.high is not None or not math.isfinite(value)):
            from ..core.registry import check_range

            check_range("run", self.name, value, self.low, self.high, high_inclusive=self.high_inclusive)
        if self.max_length is not None and isinstance(value, str) and len(value) > self.max_length:
            raise ConfigError(
                f"{self.name}={short(value, 40)} has {len(value)} characters; allowed: at most {self.max_length}"
            )

    def expected(self, bounds: bool = False) -> str:
        """What the option takes, for messages: ``expected a number or 'auto'``, ``expected an
        integer from 0 to 1,000,000``."""
        if self.expect:
            return "expected " + self.expect
        what = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[self.type]
        if bounds and self.low is not None:
            what += f" >= {self.low:,}" if self.high is None else f" from {self.low:,} to {self.high:,}"
        return "expected " + " or ".join([what] + [f"'{w}'" for w in self.words])

    @property
    def placeholder(self) -> str | None:
        """What the flag takes, for the help: NUMBER, INTEGER, SPEC, one of the choices, ..."""
        if self.metavar:
            return self.metavar
        if self.type is bool:
            return None
        if self.choices:
            return "|".join(self.choices) if len("|".join(self.choices)) <= 30 else "NAME"
        base = {int: "INTEGER", float: "NUMBER"}.get(self.type, "SPEC" if self.registry else "TEXT")
        return "|".join([base, *self.words])

    def shown_default(self) -> str:
        """The default as the help shows it."""
        if self.default_text:
            return self.default_text
        if self.default is None or self.default == "":
            return "none"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        return str(self.default)


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters (huge integers included)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of {value.bit_length()} bits>"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


MAX_EPOCHS = 1_000_000
MAX_NAME = 60  # characters of --name: it becomes part of a directory name
MONITORS = ("val_loss", "val_acc", "train_loss", "train_acc", "val_mae")

#: every run option, in the order of the help and of config.json
OPTIONS: tuple[Option, ...] = (
    # data
    Option(
        "data",
        str,
        "digits",
        "Dataset, e.g. spiral:classes=5, or a .csv/.npz file.",
        DATA,
        registry="datasets",
        text_numbers=True,
        metavar="SPEC|FILE",
    ),
    Option(
        "target",
        str,
        None,
        "Target column of a CSV file (or label array of an NPZ file).",
        DATA,
        nullable=True,
        metavar="COLUMN",
    ),
    Option(
        "task",
        str,
        "auto",
        "Task: auto (from the targets), classification or regression.",
        DATA,
        choices=("auto", "classification", "regression"),
    ),
    Option("val_split", float, 0.1, "Fraction held out for validation.", DATA, low=0.0, high=1.0, high_inclusive=False),
    Option("test_split", float, 0.2, "Fraction held out for testing.", DATA, low=0.0, high=1.0, high_inclusive=False),
    Option(
        "train_size",
        float,
        None,
        "Keep only this many training samples (an integer) or this fraction of "
        "the training split, drawn from the seed and stratified; validation and test are unchanged.",
        DATA,
        low=0.0,
        nullable=True,
        metavar="N|FRACTION",
        default_text="all",
    ),
    Option("standardize", bool, True, "Standardize inputs with statistics of the training split.", DATA),
    Option(
        "augment",
        str,
        None,
        "Augmentations of training batches, e.g. shift:1,rotate:10.",
        DATA,
        nullable=True,
        registry="augmentations",
    ),
    # model
    Option(
        "model",
        str,
        "mlp:128,64",
        "Model string: mlp:128,64 | dense:256,bn,relu,dense:10 | "
        "conv:16x3,relu,maxpool:2,flatten,dense:10 | res(dense:64,relu,dense:64)x4.",
        MODEL,
        flags=("-m",),
        text_numbers=True,
        metavar="MODEL",
    ),
    Option("activation", str, "relu", "Hidden activation.", MODEL, flags=("-a",), registry="activations"),
    Option(
        "init",
        str,
        "auto",
        "Weight initializer of every weight layer, the output layer too ('auto': He for "
        "ReLU-like, LeCun for SELU, else Glorot; Glorot for the output layer).",
        MODEL,
        registry="initializers",
    ),
    Option("bias_init", str, "zeros", "Bias initializer, e.g. constant:0.01.", MODEL, registry="initializers"),
    Option("dropout", float, 0.0, "Dropout rate after hidden layers.", MODEL, low=0.0, high=1.0, high_inclusive=False),
    Option("input_dropout", float, 0.0, "Dropout rate on the inputs.", MODEL, low=0.0, high=1.0, high_inclusive=False),
    Option("batch_norm", bool, False, "Batch norm after hidden dense layers.", MODEL),
    Option("dtype", str, "float32", "Floating-point type of the training.", MODEL, choices=("float32", "float64")),
    # objective and optimization
    Option(
        "loss",
        str,
        "auto",
        "Loss, from logits ('auto': cross_entropy for classes, mse otherwise).",
        OPTIMIZATION,
        registry="losses",
    ),
    Option(
        "optimizer",
        str,
        "adam",
        "Optimizer spec, e.g. adam:beta2=0.99.",
        OPTIMIZATION,
        flags=("-o",),
        registry="optimizers",
    ),
    Option(
        "lr",
        float,
        None,
        "Learning rate (overrides the optimizer's; none: the optimizer's default), or "
        "'auto': the range test picks it (train only).",
        OPTIMIZATION,
        low=0.0,
        nullable=True,
        words=("auto",),
        default_text="the optimizer's",
    ),
    Option("schedule", str, "constant", "Learning-rate schedule.", OPTIMIZATION, registry="schedules"),
    Option("clip_norm", float, None, "Clip gradients to this global L2 norm.", OPTIMIZATION, low=0.0, nullable=True),
    Option("clip_value", float, None, "Clip each gradient entry to [-v, v].", OPTIMIZATION, low=0.0, nullable=True),
    Option("l1", float, 0.0, "L1 strength λ (penalty λ·Σ|w|).", OPTIMIZATION, low=0.0),
    Option("l2", float, 0.0, "L2 strength λ (penalty λ/2·Σw²).", OPTIMIZATION, low=0.0),
    Option("epochs", int, 30, "Epochs.", OPTIMIZATION, flags=("-e",), low=0, high=MAX_EPOCHS),
    Option(
        "batch_size",
        int,
        32,
        "Minibatch size; 1 = stochastic, 'full' = batch gradient descent.",
        OPTIMIZATION,
        flags=("-b",),
        low=1,
        words=("full",),
        expect="a positive integer (1 = stochastic) or 'full'",
    ),
    Option(
        "early_stopping",
        int,
        None,
        "Stop after this many epochs without improvement (patience).",
        OPTIMIZATION,
        low=1,
        nullable=True,
        expect="a patience >= 1 (epochs)",
    ),
    Option("monitor", str, "val_loss", "Metric for early stopping and the best epoch.", OPTIMIZATION, choices=MONITORS),
    Option("min_delta", float, 0.0, "Smallest change that counts as an improvement.", OPTIMIZATION, low=0.0),
    Option("restore_best", bool, True, "Return the best epoch's weights, whatever stopped the run.", OPTIMIZATION),
    # run
    Option(
        "diagnostics",
        bool,
        False,
        "Record per-layer training-health statistics (diagnostics.csv) and warn when a rule fires.",
        RUN,
    ),
    Option("seed", int, 0, "Random seed (data split, init, shuffling).", RUN, flags=("-s",), low=0),
    Option(
        "threads",
        int,
        None,
        "Threads of the matrix products (BLAS) and the compiled kernels (recorded: the numbers depend on it).",
        RUN,
        low=1,
        high=1024,
        nullable=True,
        default_text="every core; 1 per sweep trial",
    ),
    Option(
        "name",
        str,
        "",
        "Run name (the end of the run id).",
        RUN,
        max_length=MAX_NAME,
        text_numbers=True,
        metavar="NAME",
    ),
    Option("results_dir", str, "results", "Where run directories go.", RUN, metavar="DIR"),
)

BY_NAME: dict[str, Option] = {o.name: o for o in OPTIONS}
