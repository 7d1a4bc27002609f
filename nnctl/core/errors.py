"""Typed errors raised by nnctl's library code.

The library never prints and never exits: it raises one of these. The command-line layer is the
single place that turns them into a one-line message and an exit code. Every message says what was
received and what is allowed, so the user can fix the input without reading a traceback.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable


class NnctlError(Exception):
    """Base class of every error nnctl raises on purpose. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class SpecError(NnctlError, ValueError):
    """A spec string (``name:key=value,...``) or model string could not be parsed."""


class UnknownComponentError(SpecError):
    """A component name is not registered."""


class ConfigError(NnctlError, ValueError):
    """A hyperparameter or option has a value outside what is allowed."""


class ShapeError(NnctlError, ValueError):
    """Layers do not fit each other or the data."""


class DataError(NnctlError, ValueError):
    """A dataset could not be found, read or used."""


class TrainingError(NnctlError, RuntimeError):
    """Training cannot proceed (for example, a layer with zero gradient everywhere)."""


class RunFailure(NnctlError, RuntimeError):
    """A runtime failure that is not the user's input (exit code 1)."""

    exit_code = 1


#: characters of any one piece of input a message quotes (a CSV cell, a name, a path) ...
MAX_QUOTED = 200
#: ... and of a whole message
MAX_MESSAGE = 2000
_LONG = re.compile(rf"\S{{{MAX_QUOTED + 1},}}")


def one_line(text: object) -> str:
    """A message as one line: its non-empty lines, stripped and joined by spaces, with every stretch
    of more than :data:`MAX_QUOTED` characters without a space cut to that many (a 10 MB CSV cell
    stays a readable line), and the line itself cut at :data:`MAX_MESSAGE` characters."""
    line = " ".join(part.strip() for part in str(text).splitlines() if part.strip())
    line = _LONG.sub(lambda m: f"{m.group()[:MAX_QUOTED]} …[{len(m.group())} characters]", line)
    return line if len(line) <= MAX_MESSAGE else f"{line[:MAX_MESSAGE]} …[{len(line)} characters]"


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Return the valid choice closest to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.5)
    return matches[0] if matches else None


def suggestion(name: str, choices: Iterable[str]) -> str:
    """A ``"; did you mean 'x'?"`` suffix, or an empty string."""
    best = closest(name, choices)
    return f"; did you mean '{best}'?" if best else ""
