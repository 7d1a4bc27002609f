"""What many test files do the same way: run the real CLI in-process and check how it ended, train a
small run through the library, make a small run directory with ``nnctl train``.

Plain functions rather than fixtures, because module-scoped fixtures and other helpers call them too.
conftest.py registers this module for pytest's assertion rewriting, so a failed check here reports
its values as a check in a test file does.
"""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from nnctl.cli.app import app
from nnctl.training import RunConfig, fit, prepare

_runner = CliRunner()


def invoke(*args, expect: int | None = 0, **options) -> Result:
    """``nnctl ARGS`` in this process (each argument passed through ``str``), which must exit with
    code ``expect`` (``None``: not checked here, the caller checks it). ``options`` go to
    ``CliRunner.invoke`` (``env``, ``terminal_width``, ...)."""
    assert not any(isinstance(a, list | tuple) for a in args), f"pass the arguments themselves, not a list: {args}"
    result = _runner.invoke(app, [str(a) for a in args], **options)
    if expect is not None:
        assert result.exit_code == expect, (result.exit_code, result.output, result.exception)
    return result


def error_line(result: Result) -> str:
    """The command stopped through the CLI's error boundary: one ``error:`` line on stderr, no
    traceback anywhere, no exception but the exit itself. Returns that line."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    err = result.stderr.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    return err


def one_line_error(*args, code: int = 2, **options) -> str:
    """``nnctl ARGS`` exits with ``code`` and says why in one ``error:`` line; returns the line."""
    return error_line(invoke(*args, expect=code, **options))


def make_run(results, *args, model: str = "mlp:8", epochs: int = 1) -> Path:
    """``nnctl train --results-dir RESULTS --quiet --model MODEL --epochs EPOCHS ARGS``, which must
    succeed; returns the run directory it printed."""
    result = invoke("train", "--results-dir", results, "--quiet", "--model", model, "--epochs", epochs, *args)
    run = Path(result.stdout.strip())
    assert run.is_dir() and run.parent == Path(results), (run, result.output)
    return run


def fit_run(**options):
    """Prepare the run ``RunConfig(**options)`` describes and fit it: ``(run, result)``."""
    run = prepare(RunConfig(**options))
    return run, fit(run)
