"""Files a user names on the command line (``--out``, ``--plot``, ``--csv``): checked before any work.

A command that writes where a user points it must never destroy a file that is not its own. Every
user-named output goes through :func:`check_output` before the command does its work, and is then
written by :func:`write_output`:

- the extension must match what is written (a picture ``.png``/``.svg``, a table ``.csv``, a
  report ``.html``), else one line saying which are allowed;
- a directory, a missing parent directory, a path through a file, a special file (``/dev/null``,
  a pipe) or a place that cannot be written is one line, before anything is computed;
- an existing file is replaced only when nnctl wrote it — its pictures, reports and JSON records
  carry a mark (:data:`MARK`), its tables their header — or when ``--force`` is given;
- the bytes go to a temporary file beside the target and are renamed onto the named path, so
  nothing is written anywhere else and no half-written file is ever seen (a symbolic link at the
  named path is replaced by the file, its target left alone).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..core.errors import ConfigError
from .store import atomic_write_bytes

#: what each kind of output may be called
SUFFIXES = {"picture": (".png", ".svg"), "table": (".csv",), "report": (".html",), "record": (".json",)}
#: the mark nnctl's pictures and reports carry (PNG text chunk "Software", an SVG/HTML comment)
MARK = "nnctl"
_HEAD = 64 * 1024


def check_output(path: str | os.PathLike, kind: str, *, force: bool = False) -> Path:
    """``path`` as a Path when it can be written as a ``kind`` output, else a one-line ConfigError."""
    path = Path(path)
    allowed = SUFFIXES[kind]
    if path.suffix.lower() not in allowed:
        names = " or ".join(allowed)
        raise ConfigError(f"{kind} '{path}' must end in {names}; got '{path.suffix or '(no extension)'}'")
    parent = path.parent
    if not parent.exists():
        raise ConfigError(f"cannot write '{path}': directory '{parent}' does not exist")
    if not parent.is_dir():
        raise ConfigError(f"cannot write '{path}': '{parent}' is not a directory")
    if os.path.lexists(path):
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(f"'{path}' is a directory; name a file to write, e.g. '{path / ('out' + allowed[0])}'")
        if not force:
            if stat.S_ISLNK(info.st_mode):
                raise ConfigError(f"'{path}' is a symbolic link; pass --force to replace the link with the file")
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(f"'{path}' is not a regular file; name another file")
            if not is_own_output(path, kind):
                raise ConfigError(
                    f"'{path}' exists and was not written by nnctl; pass --force to replace it, or name another file"
                )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write '{path}': directory '{parent}' is not writable")
    if os.path.lexists(path) and not os.path.islink(path) and not os.access(path, os.W_OK) and not force:
        raise ConfigError(f"'{path}' is read-only; pass --force to replace it, or name another file")
    return path


def write_output(path: str | os.PathLike, data: bytes) -> Path:
    """Write the bytes of a checked output: a temporary file beside it, renamed onto ``path``."""
    atomic_write_bytes(path, data)
    return Path(path)


def is_own_output(path: str | os.PathLike, kind: str) -> bool:
    """Whether the file at ``path`` is one nnctl wrote: a marked picture or report, or a table with
    the header of nnctl's tables (``run`` or ``group`` first, a ``status`` column)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD)
    except OSError:
        return False
    if kind == "picture":
        if head.startswith(b"\x89PNG\r\n\x1a\n"):
            return b"tEXtSoftware\x00" + MARK.encode() in head
        return head.lstrip().startswith(b"<?xml") and f"<!-- {MARK} ".encode() in head
    if kind == "report":
        return f'<meta name="generator" content="{MARK}'.encode() in head
    if kind == "table":
        first = head.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(",")
        return bool(first) and (
            (first[0] in ("run", "group") and "status" in first) or first[0].startswith("prediction")
        )
    if kind == "record":
        return f'"written_by": "{MARK}'.encode() in head
    return False


def mark_svg(data: bytes) -> bytes:
    """The SVG with nnctl's mark as a comment after its XML declaration."""
    end = data.find(b"?>")
    cut = end + 2 if data.lstrip().startswith(b"<?xml") and end >= 0 else 0
    return data[:cut] + f"\n<!-- {MARK} picture -->".encode() + data[cut:]
