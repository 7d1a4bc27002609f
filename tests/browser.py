"""Driving the report pages in a real headless Chromium (Debian's /usr/bin/chromium) with Playwright.

Used by the browser tests and by ``docs/make_report_images.py`` (the screenshots in docs/). Every
request a page makes is recorded; :func:`open_page` lets through only the page's own file or the
local ``nnctl view`` server and aborts anything else, so a test can assert that nothing left the
machine. Console errors and uncaught exceptions are recorded too.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's chromium, or the one NNCTL_CHROMIUM names; None when there is none."""
    for candidate in (os.environ.get("NNCTL_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def why_not() -> str | None:
    """Why browser tests cannot run here (None when they can)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (pip install -e '.[test]')"
    if chromium_path() is None:
        return "needs Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)"
    return None


@dataclass
class Visit:
    """What happened while a page was open."""

    page: object
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


def _local(url: str, allowed_origin: str | None) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "about", "blob"):
        return True
    return allowed_origin is not None and f"{parts.scheme}://{parts.netloc}" == allowed_origin


@contextmanager
def open_page(b, url: str, width: int = 1400, height: int = 900):
    """A fresh page at ``url``, waited until the report has rendered; yields a :class:`Visit`."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme.startswith("http") else None
    context = b.new_context(viewport={"width": width, "height": height}, service_workers="block")
    page = context.new_page()
    visit = Visit(page)

    def route(r):
        visit.requests.append(r.request.url)
        if _local(r.request.url, origin):
            r.continue_()
        else:
            visit.blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page.on("console", lambda m: visit.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.errors.append(f"page error: {e}"))
    try:
        page.goto(url)
        wait_ready(page)
        yield visit
    finally:
        context.close()


def wait_ready(page, timeout: float = 20_000) -> None:
    """Until the page has rendered its route (``<body data-ready="1">``) and its charts are drawn."""
    page.wait_for_selector("body[data-ready='1']", state="attached", timeout=timeout)
    page.wait_for_timeout(150)


def goto(page, url: str) -> None:
    """Another route of the same report: a fresh load, so ``data-ready`` means this route."""
    page.goto("about:blank")
    page.goto(url)
    wait_ready(page)


def series(page, selector: str) -> list[dict]:
    """The series of the ECharts chart inside ``selector``: name, type and data."""
    return page.evaluate(
        """(sel) => { const el = document.querySelector(sel + ' .chart') || document.querySelector(sel);
            const c = echarts.getInstanceByDom(el);
            return c.getOption().series.map(s => ({ name: s.name, type: s.type, data: s.data })); }""",
        selector,
    )
