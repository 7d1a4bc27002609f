"""The console script's entry point: nothing is imported before a Ctrl-C can be handled.

A Ctrl-C while Python is still importing NumPy, Typer and the commands would otherwise end in a
traceback dozens of lines long; here it is the same one ``interrupted`` line (exit code 130) as
anywhere else. SIGTERM and SIGHUP stop the process the same way (training/interrupts.py), exit
code 143 and 129.
"""

from __future__ import annotations

import sys


def main() -> None:
    from ..training import interrupts  # the signal module only: SIGTERM/SIGHUP stop like Ctrl-C from here on

    interrupts.install()
    try:
        from .app import main as run

        run()
    except KeyboardInterrupt:  # the command's own handler covers everything after start-up
        sys.stderr.write("interrupted\n")
        raise SystemExit(interrupts.exit_code()) from None
