"""One self-contained HTML file: the page template with its style, scripts and model inline.

Nothing is fetched when the file opens: the charting library (Apache ECharts, vendored under
``assets/vendor`` with its licence) and nnctl's own scripts sit in ``<script>`` elements, the model
in a ``<script type="application/json">`` element, the style in ``<style>``, fonts are the
system's. A Content-Security-Policy in the page forbids loading anything else (``connect-src
'self'`` lets ``nnctl view``'s page poll its own server). The page carries
``<meta name="generator" content="nnctl">``, so ``--out`` may replace a report nnctl wrote.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib import resources
from typing import Any

from .model import to_json

#: nnctl's scripts, in the order they are concatenated (one scope, no build step)
SCRIPTS = ("app.js", "charts.js", "tables.js", "run_pages.js", "group_pages.js")
ECHARTS = "vendor/echarts.min.js"


@cache
def asset(name: str) -> str:
    """The text of a file in ``nnctl/report/assets``."""
    return resources.files("nnctl.report").joinpath("assets", *name.split("/")).read_text(encoding="utf-8")


def script_text(text: str) -> str:
    """Text safe inside a ``<script>`` element: no ``</script`` or ``<!--`` can end or bend it."""
    return re.sub(r"<(/script|!--)", r"<\\\1", text, flags=re.IGNORECASE)


def json_in_html(text: str) -> str:
    """JSON text safe inside ``<script type="application/json">`` (every ``<`` escaped)."""
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render_page(model: dict[str, Any], title: str = "nnctl report") -> str:
    """The whole page with ``model`` inline."""
    parts = {
        "TITLE": html.escape(title),
        "STYLE": asset("style.css"),
        "MODEL": json_in_html(to_json(model)),
        "ECHARTS": script_text(asset(ECHARTS)),
        "APP": script_text("(function () {\n'use strict';\n" + "\n".join(asset(name) for name in SCRIPTS) + "\n})();"),
    }
    return re.sub(r"@@([A-Z]+)@@", lambda m: parts[m.group(1)], asset("page.html"))
