"""The ``nnctl`` command: the only place that turns library errors into messages and exit codes.

Every command is a thin module that parses flags, calls the library and renders the result. Errors
raised by the library (:class:`~nnctl.core.errors.NnctlError`) and usage errors from the flag parser
become one line on stderr — ``error: <what was received>; <what is allowed>`` — and exit code 2
(1 for runtime failures). An operating-system error that escapes the library (a file that cannot be
read or written) becomes one line and exit code 1; any other exception is a bug in nnctl and becomes
one ``error: internal error: ...`` line and exit code 1. ``--debug`` or ``NNCTL_DEBUG=1`` also
prints the traceback.
"""

from __future__ import annotations

import os
import re
import sys
import traceback

import typer
from typer.core import TyperGroup

try:  # recent Typer releases vendor Click; older ones use the click package
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as _click_errors

from ..core.errors import NnctlError, one_line
from ..training import interrupts
from .help import NnctlCommand


def _debug_enabled() -> bool:
    return os.environ.get("NNCTL_DEBUG", "").lower() not in ("", "0", "false", "no")


def _fail(message: str, code: int) -> SystemExit:
    typer.echo(f"error: {one_line(message)}", err=True)
    return SystemExit(code)


def _os_error(exc: OSError) -> str:
    """``cannot access '<file>': <reason>`` for an OSError that no library code turned into a message."""
    reason = exc.strerror or one_line(exc) or type(exc).__name__
    if exc.filename is not None:
        target = f"'{exc.filename}'" + (f" -> '{exc.filename2}'" if exc.filename2 is not None else "")
        return f"cannot access {target}: {reason}"
    return f"{type(exc).__name__}: {reason}"


def _internal(exc: BaseException, debug: bool = False) -> str:
    detail = one_line(exc)
    return (
        f"internal error: {type(exc).__name__}"
        + (f": {detail}" if detail else "")
        + (" (this is a bug in nnctl)" if debug else " (this is a bug in nnctl; rerun with --debug for the traceback)")
    )


def _received(exc: Exception, args: list[str]) -> str:
    """``; got 'VALUE'`` for a bad option value whose message does not show it."""
    param = getattr(exc, "param", None)
    opts = [
        o
        for o in (getattr(param, "opts", None) or []) + (getattr(param, "secondary_opts", None) or [])
        if o.startswith("-")
    ]
    if not isinstance(exc, _click_errors.BadParameter) or not opts:
        return ""
    value = None
    for i, arg in enumerate(args):
        if arg in opts and i + 1 < len(args):
            value = args[i + 1]
        elif "=" in arg and arg.split("=", 1)[0] in opts:
            value = arg.split("=", 1)[1]
    if value is None or re.search(rf"(?<![\w.]){re.escape(value)}(?![\w.])", exc.format_message()):
        return ""
    return f"; got '{value}'"


class NnctlGroup(TyperGroup):
    """A Typer group whose errors are one line each (no usage block, no traceback)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is None:
            args = sys.argv[1:]
        args = list(args)
        debug = _debug_enabled()
        if "--debug" in args:  # this invocation only (the environment is left as it is)
            debug = True
            args.remove("--debug")

        def fail(message: str, code: int) -> SystemExit:
            if debug:
                traceback.print_exc()
            return _fail(message, code)

        try:
            rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra)
        except NnctlError as exc:
            raise fail(one_line(exc), exc.exit_code) from None
        except _click_errors.UsageError as exc:
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            raise fail(one_line(exc.format_message()) + _received(exc, args) + hint, 2) from None
        except _click_errors.ClickException as exc:
            raise fail(one_line(exc.format_message()), exc.exit_code) from None
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("interrupted", err=True)
            raise SystemExit(interrupts.exit_code()) from None
        except MemoryError:
            raise fail("out of memory; try a smaller model, --batch-size or dataset", 1) from None
        except OSError as exc:
            raise fail(_os_error(exc), 1) from None
        except Exception as exc:
            raise fail(_internal(exc, debug), 1) from None
        if not standalone_mode:
            return rv
        raise SystemExit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=NnctlGroup,
    name="nnctl",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from ..version import __version__

        typer.echo(f"nnctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print nnctl's version and exit."
    ),
    debug: bool = typer.Option(
        False,
        "--debug",
        help="Show the traceback of an error (also NNCTL_DEBUG=1); may be given anywhere on the command line.",
    ),
) -> None:
    """Train neural networks from flags and study how they train."""


def _register() -> None:
    """Every command, in the order ``nnctl --help`` lists them. Command modules never import this
    one: they define functions (and the sweep/experiment sub-apps), registered here."""
    from . import (
        apply,
        augment_preview,
        compare,
        components,
        data,
        experiment,
        lr_find,
        plot,
        report,
        summary,
        sweep,
        train,
    )

    for name, function in (
        ("train", train.train_command),
        ("lr-find", lr_find.lr_find_command),
        ("compare-runs", compare.compare_command),
        ("plot", plot.plot_command),
        ("augment-preview", augment_preview.augment_preview_command),
        ("summary", summary.summary_command),
        ("predict", apply.predict_command),
        ("evaluate", apply.evaluate_command),
        ("list", components.list_command),
        ("report", report.report_command),
        ("view", report.view_command),
    ):
        app.command(name, cls=NnctlCommand)(function)
    app.command("components", cls=NnctlCommand, hidden=True, help="Alias of 'list'.")(components.list_command)
    app.add_typer(sweep.sweep_app, name="sweep")
    app.add_typer(experiment.experiment_app, name="experiment")
    app.add_typer(data.data_app, name="data")


_register()


def main() -> None:
    """Console-script entry point."""
    interrupts.install()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
