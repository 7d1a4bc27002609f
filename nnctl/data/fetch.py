"""Download a dataset of the catalog into the cache, once, checked against its published SHA-256.

``fetch("mnist", progress=callback)`` fills ``<cache>/mnist/`` (:mod:`nnctl.data.catalog`). For
each file of the dataset:

1. A file already in the cache is kept if its SHA-256 is the published one, else removed.
2. The download is written to ``<file>.part``. A part left by an earlier, broken download is resumed
   with an HTTP Range request (``Range: bytes=<bytes we have>-``); a server that answers 200 instead
   of 206 sends the whole file again, which replaces the part.
3. A transfer that fails on the way (connection refused or reset, a timeout, a 5xx or 429 status,
   the server closing before the end) is tried again after 1, 2, 4 ... seconds (``backoff``), at
   most ``retries`` more times per mirror, each time resuming. A 4xx status, an unknown host, a
   size other than the published one, or a whole download with the wrong checksum moves on to the
   next mirror: that mirror does not have the file.
4. Once the part has the published size its SHA-256 is computed; only a match renames it to its
   final name (after an fsync). A mismatch deletes the part; a resumed part gets one fresh try.

So a corrupt or truncated file never has a final name: the loaders and ``nnctl data list`` see only
verified files. The library prints nothing; it reports through ``progress(event)`` (a
:class:`FetchEvent`) and raises :class:`~nnctl.core.errors.RunFailure` (exit 1) when a file cannot be
had, :class:`~nnctl.core.errors.ConfigError` (exit 2) for a bad name, mirror or cache folder.
While it runs it holds a lock on the dataset's folder, so two fetches never write one part file.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import ConfigError, RunFailure
from ..version import __version__
from .catalog import PART, RemoteDataset, RemoteFile, dataset_dir, remote, sha256

CHUNK = 1 << 18
MAX_DELAY = 30.0


@dataclass(frozen=True)
class FetchEvent:
    """What :func:`fetch` reports. ``kind`` is one of

    ``cached`` (the file was there and verified), ``start`` (a transfer begins; ``done`` bytes are
    already on disk), ``bytes`` (``done`` of ``total`` bytes are on disk), ``retry`` (``message``
    says why and when), ``verify`` (the checksum is being computed) and ``done`` (verified, renamed).
    """

    kind: str
    file: str
    done: int
    total: int
    message: str = ""


Progress = Callable[[FetchEvent], None]


@dataclass
class FetchResult:
    """What a fetch did: the files it downloaded, those already cached, and the bytes it received
    (a transfer that broke and was resumed or restarted counts every byte that came in)."""

    name: str
    directory: Path
    downloaded: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    bytes_downloaded: int = 0


class _Retry(Exception):
    """A transfer failed in a way that may pass: try the same mirror again."""


class _Restart(_Retry):
    """The part on disk cannot be continued: delete it, then try again from the start."""


class _NextMirror(Exception):
    """This mirror cannot give the file: try the next one."""


def mirror_urls(spec: RemoteDataset, mirror: str | None) -> tuple[str, ...]:
    """The folder URLs to try: the catalog's, or the one ``mirror`` (a file URL gives its folder)."""
    if mirror is None:
        return spec.mirrors
    names = ", ".join(f.name for f in spec.files)
    parsed = urllib.parse.urlsplit(mirror)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"mirror '{mirror}' is not allowed; expected an http:// or https:// URL of a folder that serves {names}"
        )
    base = mirror.rstrip("/")
    last = base.rsplit("/", 1)[-1]
    if last in {f.name for f in spec.files}:
        base = base[: -len(last)].rstrip("/")
    return (base + "/",)


@contextmanager
def _locked(directory: Path, name: str):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFailure(
                f"{name} is being fetched by another nnctl process into '{directory}'; wait for it to finish"
            ) from None
        yield
    finally:
        os.close(fd)  # drops the lock


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, http.client.IncompleteRead):
        return "the server closed the connection early"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()


def _open(url: str, have: int, timeout: float):
    headers = {"User-Agent": f"nnctl/{__version__}"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and have:  # the part is not a prefix the server can continue
            raise _Restart("the server cannot resume the part (HTTP 416)") from None
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise _NextMirror(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, socket.gaierror):
            raise _NextMirror(f"unknown host ({_reason(exc.reason)})") from None
        raise _Retry(_reason(exc)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise _Retry(_reason(exc)) from None


def _start(resp, have: int, size: int) -> int:
    """Where the body of ``resp`` starts in the file: ``have`` when the server resumed, else 0."""
    if resp.status == 206:
        unit, _, rng = (resp.headers.get("Content-Range") or "").partition(" ")  # bytes 100-199/200
        first, total = rng.partition("-")[0], rng.rpartition("/")[2]
        if unit != "bytes" or first != str(have):
            raise _Restart(f"the server resumed at the wrong place ({resp.headers.get('Content-Range')})")
        if total.isdigit() and int(total) != size:
            raise _NextMirror(f"the server's file has {total} bytes, the published size is {size}")
        return have
    if resp.status != 200:
        raise _Retry(f"unexpected HTTP status {resp.status}")
    length = resp.headers.get("Content-Length")
    if length and length.isdigit() and int(length) != size:
        raise _NextMirror(f"the server's file has {length} bytes, the published size is {size}")
    return 0


def _transfer(url: str, part: Path, f: RemoteFile, timeout: float, emit: Progress, received: list[int]) -> None:
    """Bring ``part`` up to ``f.size`` bytes from ``url``, adding the bytes received to ``received[0]``
    (also when the transfer breaks)."""
    have = part.stat().st_size if part.exists() else 0
    if have > f.size:
        part.unlink()
        have = 0
    if have == f.size:
        return
    emit(FetchEvent("start", f.name, have, f.size))
    try:
        resp = _open(url, have, timeout)
        with resp:
            _body(resp, _start(resp, have, f.size), part, f, emit, received)
    except _Restart:
        part.unlink(missing_ok=True)
        raise


def _body(resp, have: int, part: Path, f: RemoteFile, emit: Progress, received: list[int]) -> None:
    """Write the body of ``resp`` to ``part``, which holds the file's first ``have`` bytes."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if have else os.O_TRUNC) | getattr(os, "O_NOFOLLOW", 0)
    try:  # never through a symbolic link planted where the part goes
        out = os.fdopen(os.open(part, flags, 0o644), "ab" if have else "wb")
    except OSError as exc:
        raise RunFailure(f"cannot write '{part}': {exc.strerror or exc}") from None
    with out:
        while True:
            try:
                chunk = resp.read(CHUNK)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise _Retry(_reason(exc)) from None
            if not chunk:
                break
            if have + len(chunk) > f.size:
                out.truncate(0)
                raise _NextMirror(f"the server sent more than the published {f.size} bytes")
            try:
                out.write(chunk)
            except OSError as exc:
                raise RunFailure(
                    f"cannot write '{part}': {exc.strerror or exc}; free some space and "
                    "fetch again (the download resumes)"
                ) from None
            have += len(chunk)
            received[0] += len(chunk)
            emit(FetchEvent("bytes", f.name, have, f.size))
        out.flush()
        os.fsync(out.fileno())
    if have < f.size:
        raise _Retry(f"the transfer stopped at {have} of {f.size} bytes")


def _fetch_file(
    name: str,
    f: RemoteFile,
    mirrors: tuple[str, ...],
    directory: Path,
    *,
    retries: int,
    backoff: float,
    timeout: float,
    emit: Progress,
) -> int:
    final, part = directory / f.name, directory / (f.name + PART)
    received, failures = [0], []
    for base in mirrors:
        url = base + f.name
        attempt, fresh_try = 0, True
        while attempt <= retries:
            if attempt:
                delay = min(backoff * 2 ** (attempt - 1), MAX_DELAY)
                emit(
                    FetchEvent(
                        "retry",
                        f.name,
                        part.stat().st_size if part.exists() else 0,
                        f.size,
                        f"{failures[-1][1]}; try {attempt + 1} of {retries + 1} in {delay:g} s",
                    )
                )
                time.sleep(delay)
            attempt += 1
            resumed = part.exists() and part.stat().st_size > 0
            try:
                _transfer(url, part, f, timeout, emit, received)
            except _Retry as exc:
                failures.append((url, str(exc)))
                continue
            except _NextMirror as exc:
                failures.append((url, str(exc)))
                break
            emit(FetchEvent("verify", f.name, f.size, f.size))
            digest = sha256(part)
            if digest == f.sha256:
                os.replace(part, final)
                _fsync_dir(directory)
                emit(FetchEvent("done", f.name, f.size, f.size))
                return received[0]
            part.unlink()
            failures.append((url, f"its SHA-256 is {digest}, the published one is {f.sha256}"))
            if not (resumed and fresh_try):  # a whole download was wrong: the mirror has another file
                break
            fresh_try = False  # the resumed part may have joined two different files: once from 0
            attempt = min(attempt, retries)
    url, reason = failures[-1]
    tries = len(failures)
    others = f" (and {len(mirrors) - 1} other mirror(s))" if len(mirrors) > 1 else ""
    advice = (
        "the mirror serves another file than the published one; pass --mirror URL of one that serves the original"
        if "SHA-256" in reason
        else f"check the connection, or pass --mirror URL of a folder that serves {f.name}"
    )
    raise RunFailure(
        f"cannot fetch {name}: {url}{others}: {reason} ({tries} {'try' if tries == 1 else 'tries'}); {advice}"
    )


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - not every file system syncs directories
        pass
    finally:
        os.close(fd)


def fetch(
    name: str,
    *,
    mirror: str | None = None,
    retries: int = 3,
    backoff: float = 1.0,
    timeout: float = 30.0,
    progress: Progress | None = None,
) -> FetchResult:
    """Download dataset ``name`` into its cache folder (see the module docstring); return what was done.

    ``mirror`` replaces the catalog's mirrors by one folder URL. ``retries`` is the number of extra
    tries per mirror after a failed transfer, ``backoff`` the first wait between them (doubling),
    ``timeout`` the seconds a connection may stay silent.
    """
    spec = remote(name)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
        raise ConfigError(f"retries={retries!r} is not allowed; expected an integer from 0 to 100")
    mirrors = mirror_urls(spec, mirror)
    emit = progress or (lambda event: None)
    directory = dataset_dir(spec.name)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the data cache '{directory}': {exc.strerror or exc}; set NNCTL_DATA to a writable folder"
        ) from None
    result = FetchResult(spec.name, directory)
    with _locked(directory, spec.name):
        for f in spec.files:
            final = directory / f.name
            if final.is_file() and final.stat().st_size == f.size and sha256(final) == f.sha256:
                result.cached.append(f.name)
                emit(FetchEvent("cached", f.name, f.size, f.size))
                continue
            if final.exists() or final.is_symlink():
                final.unlink()  # a file of the wrong size or checksum must never look fetched
            result.bytes_downloaded += _fetch_file(
                spec.name, f, mirrors, directory, retries=retries, backoff=backoff, timeout=timeout, emit=emit
            )
            result.downloaded.append(f.name)
    return result


__all__ = ["FetchEvent", "FetchResult", "fetch", "mirror_urls"]
