"""``nnctl view``: the report pages, served live from a results directory.

Built on the standard library's HTTP server, it answers four requests and nothing else:

``GET /``                the page (the same page ``nnctl report`` writes, with the current model inline)
``GET /api/version``     ``{"version": ...}``: a hash of every result file's size and time
``GET /api/model.json``  the current page model
(``HEAD`` of each)

The page asks for the version every ``poll`` seconds and fetches the model when it changed, so a
run's curve grows and a sweep's trials appear and change status without reloading by hand. It
serves no file of the results directory itself, lists no directory, runs nothing and writes
nothing. It listens on 127.0.0.1 unless ``--host`` names another interface, and then answers only
requests whose Host header names the address it listens on (a web page elsewhere cannot reach it
through a DNS name pointed at 127.0.0.1). Ctrl-C stops it.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from ..core.errors import ConfigError, DataError
from .html import render_page
from .model import ModelBuilder, to_json

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)


class LiveModel:
    """The model of a results directory, rebuilt when its files change (one build at a time)."""

    def __init__(self, results_dir: Path, poll_ms: int):
        self.builder = ModelBuilder(None, results_dir, live=True)
        self.poll_ms = poll_ms
        self.lock = threading.Lock()

    def current(self) -> dict:
        with self.lock:
            model = self.builder.model()
            model["poll_ms"] = self.poll_ms
            return model


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def make_handler(live: LiveModel, allowed_hosts: set[str]) -> type[BaseHTTPRequestHandler]:
    """A request handler that serves ``live``'s page and model only."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "nnctl-view"
        sys_version = ""

        def log_message(self, format, *args):  # noqa: A002  (quiet: the terminal shows the URL only)
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", CSP)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _answer(self) -> None:
            host = (self.headers.get("Host") or "").lower()
            if allowed_hosts and host not in allowed_hosts:
                self._send(421, b"misdirected request: this server answers only for its own address\n", "text/plain")
                return
            path = urlsplit(self.path).path
            routes: dict[str, Callable[[], tuple[bytes, str]]] = {
                "/": lambda: (render_page(live.current(), "nnctl view").encode(), "text/html; charset=utf-8"),
                "/index.html": lambda: (render_page(live.current(), "nnctl view").encode(), "text/html; charset=utf-8"),
                "/api/version": lambda: (
                    json.dumps({"version": live.current()["version"]}).encode(),
                    "application/json",
                ),
                "/api/model.json": lambda: (to_json(live.current()).encode(), "application/json; charset=utf-8"),
            }
            if path not in routes:
                self._send(
                    404, b"not found: nnctl view serves the page (/) and its model (/api/...) only\n", "text/plain"
                )
                return
            try:
                body, kind = routes[path]()
            except Exception as exc:  # never a traceback to the page: one line saying what failed
                self._send(500, f"could not read the results: {type(exc).__name__}: {exc}\n".encode(), "text/plain")
                return
            self._send(200, body, kind)

        do_GET = _answer
        do_HEAD = _answer

    return Handler


def open_server(
    results_dir: str | Path, host: str = "127.0.0.1", port: int = 8765, poll: float = 1.5
) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` for ``results_dir`` (not yet serving). A port in use or an
    address that cannot be listened on is a one-line ConfigError."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise DataError(f"results directory '{results_dir}' does not exist; choose one with --results-dir")
    if not 0 <= port <= 65535:
        raise ConfigError(f"port {port} is not allowed; expected 0-65535 (0: any free port)")
    live = LiveModel(results_dir, int(poll * 1000))
    try:
        server = ThreadingHTTPServer((host, port), make_handler(live, set()))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} on {host} is in use; choose another with --port") from None
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.daemon_threads = True
    bound = server.server_address[1]
    if _loopback(host):
        names = {host, "127.0.0.1", "localhost", "[::1]"}
        server.RequestHandlerClass = make_handler(live, {f"{n}:{bound}" for n in names})
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in str(host) else host
    return f"http://{shown}:{port}/"
