"""The ``nnctl`` command: the only place that turns library errors into messages and exit codes.

Every command is a thin module that parses flags, calls the library and renders the result. Errors
raised by the library (:class:`~nnctl.core.errors.NnctlError`) and usage errors from the flag parser
become one line on stderr — ``error: <what was received>; <what is allowed>`` — and exit code 2
(1 for runtime failures). ``--debug`` or ``NNCTL_DEBUG=1`` shows the traceback instead.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer
from typer.core import TyperGroup

try:  # recent Typer releases vendor Click; older ones use the click package
    from typer._click import exceptions as _click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as _click_errors

from ..core.errors import NnctlError


def _debug_enabled() -> bool:
    return os.environ.get("NNCTL_DEBUG", "").lower() not in ("", "0", "false", "no")


def _fail(message: str, code: int) -> SystemExit:
    typer.echo(f"error: {message}", err=True)
    return SystemExit(code)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


class NnctlGroup(TyperGroup):
    """A Typer group whose errors are one line each (no usage block, no traceback)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is None:
            args = sys.argv[1:]
        args = list(args)
        if "--debug" in args:
            os.environ["NNCTL_DEBUG"] = "1"
            args.remove("--debug")
        try:
            rv = super().main(
                args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except NnctlError as exc:
            if _debug_enabled():
                traceback.print_exc()
            raise _fail(_one_line(exc), exc.exit_code) from None
        except _click_errors.UsageError as exc:
            if _debug_enabled():
                traceback.print_exc()
            hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            raise _fail(_one_line(exc.format_message()) + hint, 2) from None
        except _click_errors.ClickException as exc:
            raise _fail(_one_line(exc.format_message()), exc.exit_code) from None
        except (typer.Abort, KeyboardInterrupt):
            typer.echo("interrupted", err=True)
            raise SystemExit(130) from None
        if not standalone_mode:
            return rv
        raise SystemExit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=NnctlGroup,
    name="nnctl",
    help="Train neural networks from flags and study how they train. Global option: --debug shows tracebacks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _register() -> None:
    from . import augment_preview, compare, components, experiment, lr_find, plot, summary, sweep, train  # noqa: F401  (commands register themselves)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
