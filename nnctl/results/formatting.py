"""How numbers are shown to people: one rule for the terminal, Markdown, reports and pictures.

``number`` shows a value with four significant digits (``0.9777``, ``2.608``, ``1.2e-05``), an
integral float as an integer (``30``), a missing value (None, NaN) as ``-`` and a boolean as
``true``/``false``. ``mean_std`` rounds a mean and its standard deviation to the deviation's
second significant digit. ``value_label`` writes a configuration value into a label (``lr=0.01``).
Spec strings are formatted by :func:`nnctl.core.specs.format_value` instead, which must round-trip.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def number(value: Any, digits: int = 4) -> str:
    """A value for a table or a line of text (see the module docstring)."""
    if value is None or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if v.is_integer() and abs(v) < 1e6:
            return str(int(v))
        return f"{v:.{digits}g}"
    return str(value)


def mean_std(mean: float, std: float) -> str:
    """``mean ± std`` with both rounded to the standard deviation's second significant digit
    (0.9777 ± 0.007901 → 0.9777 ± 0.0079; 11 ± 4.243 → 11.0 ± 4.2); no spread keeps the mean's form."""
    if std == 0 or not math.isfinite(std):
        return f"{number(mean)} ± 0"
    decimals = min(max(0, 1 - math.floor(math.log10(abs(std)))), 8)
    return f"{mean:.{decimals}f} ± {std:.{decimals}f}"


def value_label(value: Any) -> str:
    """A configuration value in a label: floats in their shortest form (``0.01``), the rest as text."""
    value = value.item() if isinstance(value, np.generic) else value
    return f"{value:g}" if isinstance(value, float) else str(value)
