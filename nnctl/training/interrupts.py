"""Stop requests from outside: Ctrl-C (SIGINT), and SIGTERM and SIGHUP, which end a run the same way.

Batch schedulers (Slurm, PBS), service managers and ``timeout`` send SIGTERM, a closed terminal
sends SIGHUP; a run should then stop as cleanly as after Ctrl-C: status ``interrupted``, the best
weights written, a sweep's in-flight trials marked ``interrupted``. :func:`install` makes the two
raise :class:`KeyboardInterrupt` like Ctrl-C does, and remembers which signal it was, so that the
process exits with the shell's code for it (128 + the signal's number: 130 for SIGINT, 143 for
SIGTERM, 129 for SIGHUP). :func:`deferred` holds any of them while a block that must not be cut
in half runs (recording an epoch).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_received: list[int] = []


def _raise(signum: int, frame) -> None:
    _received.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGTERM and SIGHUP stop this process like Ctrl-C (main thread only; idempotent). A
    signal the process was told to ignore (``nohup``) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in STOP_SIGNALS:
        if signum == signal.SIGINT:
            continue
        if signal.getsignal(signum) in (signal.SIG_DFL, _raise):
            signal.signal(signum, _raise)


def exit_code() -> int:
    """The exit status for a stop: 128 + the last stop signal received (130 for Ctrl-C)."""
    return 128 + (_received[-1] if _received else int(signal.SIGINT))


def reason() -> str:
    """Who stopped the run, for its stop reason: 'the user' (Ctrl-C) or the signal's name."""
    if not _received or _received[-1] == signal.SIGINT:
        return "the user"
    return signal.Signals(_received[-1]).name


def _ours(handler) -> bool:
    return handler is signal.default_int_handler or handler is _raise


@contextmanager
def deferred() -> Iterator[None]:
    """Hold a stop signal that arrives inside the block until the block has finished.

    A signal raises KeyboardInterrupt wherever the main thread happens to be; inside the recording
    of an epoch that could leave the epoch counted but not written to curve.csv. Only the signals
    whose handlers raise (Python's Ctrl-C handler, :func:`install`'s) are held, in the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {s: signal.getsignal(s) for s in STOP_SIGNALS if _ours(signal.getsignal(s))}
    pending: list[int] = []
    for signum in held:
        signal.signal(signum, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for signum, handler in held.items():
            signal.signal(signum, handler)
    if pending:
        if pending[-1] != signal.SIGINT:
            _received.append(pending[-1])
        raise KeyboardInterrupt
