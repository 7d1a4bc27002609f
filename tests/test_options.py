"""Run options are declared once (nnctl/training/options.py): the dataclass, the validation, the
flags and their help all come from that declaration."""

import dataclasses
import re

import pytest
from helpers import invoke

from nnctl.cli.components import registries
from nnctl.core.errors import ConfigError
from nnctl.training.config import RunConfig
from nnctl.training.options import BY_NAME, OPTIONS


def help_text(*command):
    """Kept: the help at 80 columns, as words (the test reads it whatever the wrapping)."""
    result = invoke(*command, "--help", terminal_width=80, env={"COLUMNS": "80"})
    return " ".join(result.output.split())  # words, whatever the wrapping


@pytest.mark.parametrize("command", [("train",), ("lr-find",), ("sweep", "grid"), ("sweep", "random")])
def test_every_declared_option_is_a_flag_with_its_real_default_and_choices(command):
    text = help_text(*command)
    for option in OPTIONS:
        assert option.flag in text, option.name
        assert f"[default: {option.shown_default()}]" in text, option.name
        if option.registry:
            names = sorted(registries()[option.registry].names())
            assert "Choices: " + ", ".join(names) + "." in text, option.name
        for flag in option.flags:
            assert re.search(rf"{flag}, {option.flag}\b", text), (option.name, flag)


def test_the_dataclass_fields_are_the_declarations():
    fields = [f for f in dataclasses.fields(RunConfig) if f.name != "extra"]
    assert [f.name for f in fields] == [o.name for o in OPTIONS]
    assert {f.name: f.default for f in fields} == {o.name: o.default for o in OPTIONS}
    assert RunConfig() == RunConfig.from_dict({})


def test_help_reads_at_80_columns():
    result = invoke("train", "--help", terminal_width=80, env={"COLUMNS": "80"})
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    for panel in ("Data:", "Model:", "Optimization:", "Run:"):
        assert panel in lines
    assert "…" not in result.output  # nothing cut off


def every_command():
    import typer.main

    from nnctl.cli.app import app

    def walk(cmd, prefix):
        subs = getattr(cmd, "commands", {})
        if not subs:
            yield prefix
        for name, sub in subs.items():
            yield from walk(sub, [*prefix, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("command", every_command(), ids=" ".join)
def test_every_help_says_what_each_flag_and_argument_takes(command):
    """Arguments in capitals in the usage line and their own section; no option shows a bare type
    placeholder such as <str> or <path>; nothing is wider than 80 columns."""
    import typer.main

    from nnctl.cli.app import app
    from nnctl.cli.help import NnctlCommand

    text = invoke(*command, "--help", terminal_width=80, env={"COLUMNS": "80"}).output
    assert max(len(line) for line in text.splitlines()) <= 80, text
    assert not re.search(r"<(str|path|int|float|text|int range|float range|integer)>", text), text
    usage = text.splitlines()[0]
    assert usage.startswith(f"Usage: nnctl {' '.join(command)} [OPTIONS]") and "{" not in usage, usage
    cmd = typer.main.get_command(app)
    for name in command:
        cmd = cmd.commands[name]
    assert isinstance(cmd, NnctlCommand), f"nnctl {' '.join(command)} does not use NnctlCommand"
    arguments = [p for p in cmd.params if p.param_type_name == "argument"]
    for p in arguments:
        assert p.name.upper() in usage, usage
    assert ("Arguments:" in text) == bool(arguments)


@pytest.mark.parametrize("name", [o.name for o in OPTIONS if o.type in (int, float)])
def test_numeric_options_refuse_text_and_give_one_line(name):
    with pytest.raises(ConfigError) as info:
        RunConfig.from_dict({name: "not-a-number"})
    assert "\n" not in str(info.value) and name in str(info.value)
    assert BY_NAME[name].expected() in str(info.value)


def test_the_architecture_document_shows_a_real_declaration():
    """docs/architecture.md's worked example is a declaration as it stands in options.py."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "architecture.md").read_text()
    block = re.search(r"```python\n(    Option\(\"min_delta\".*?)\n```", doc, re.S)
    assert block, "docs/architecture.md has no Option(...) example"
    assert block.group(1) in (root / "nnctl" / "training" / "options.py").read_text()
