"""User-named output files: checked before any work, never destroying a file that is not nnctl's."""

import os
import stat

import pytest
from helpers import invoke

from nnctl.cli.app import app
from nnctl.core.errors import ConfigError
from nnctl.results.outputs import check_output, is_own_output

UNRELATED = b"root:x:0:0:root:/root:/bin/bash\n"
# a_run (conftest.py): a finished run to write pictures, tables and reports of


def commands(run, path) -> dict[str, list[str]]:
    """Every command option that writes a file the user names (kept complete by the test below)."""
    return {
        "augment-preview --out": ["augment-preview", "--augment", "shift:1", "--out", str(path)],
        "plot --out": ["plot", str(run), "--out", str(path)],
        "compare-runs --plot": ["compare-runs", str(run), "--plot", str(path)],
        "compare-runs --csv": ["compare-runs", str(run), "--csv", str(path)],
        "report --out": ["report", str(run), "--out", str(path)],
        "predict --out": ["predict", str(run), "--out", str(path)],
        "evaluate --out": ["evaluate", str(run), "--out", str(path)],
    }


def output_options():
    """(command, option) for every option of every command that names a file to write."""
    import typer.main

    found = set()

    def walk(cmd, prefix):
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, f"{prefix} {name}".strip())
        for param in getattr(cmd, "params", []):
            if param.name in ("out", "plot", "csv"):
                found.add(f"{prefix} {param.opts[0]}")

    walk(typer.main.get_command(app), "")
    return found


def test_the_list_of_output_options_is_complete(a_run, tmp_path):
    assert output_options() == set(commands(a_run, tmp_path / "x"))


@pytest.mark.parametrize(
    "which",
    [
        "augment-preview --out",
        "plot --out",
        "compare-runs --plot",
        "compare-runs --csv",
        "report --out",
        "predict --out",
        "evaluate --out",
    ],
)
def test_an_unrelated_file_is_left_untouched_without_force(which, a_run, tmp_path):
    suffix = {"report": ".html", "predict": ".csv", "evaluate": ".json"}.get(which.split()[0], ".png")
    suffix = ".csv" if which.endswith("--csv") else suffix
    victim = tmp_path / f"passwd{suffix}"
    victim.write_bytes(UNRELATED)
    os.chmod(victim, 0o644)
    result = invoke(*commands(a_run, victim)[which], expect=2)
    assert "exists and was not written by nnctl; pass --force" in result.output
    assert victim.read_bytes() == UNRELATED and sorted(p.name for p in tmp_path.iterdir()) == [victim.name]
    invoke(*commands(a_run, victim)[which], "--force")
    kind = {".csv": "table", ".html": "report", ".json": "record"}.get(suffix, "picture")
    assert victim.read_bytes() != UNRELATED and is_own_output(victim, kind)
    invoke(*commands(a_run, victim)[which])  # nnctl's own file: replaced without --force


def test_a_png_named_like_a_system_file_without_extension_is_refused(a_run, tmp_path):
    victim = tmp_path / "passwd"
    victim.write_bytes(UNRELATED)
    result = invoke("augment-preview", "--augment", "shift:1", "--out", victim, "--force", expect=2)
    assert "must end in .png or .svg; got '(no extension)'" in result.output
    assert victim.read_bytes() == UNRELATED


def test_directories_missing_parents_and_read_only_targets(tmp_path):
    (tmp_path / "d.png").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        check_output(tmp_path / "d.png", "picture")
    with pytest.raises(ConfigError, match="directory '.*missing' does not exist"):
        check_output(tmp_path / "missing" / "a.png", "picture")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="is not a directory"):
        check_output(tmp_path / "f" / "a.png", "picture")
    with pytest.raises(ConfigError, match=r"must end in \.csv"):
        check_output(tmp_path / "t.txt", "table")
    own = tmp_path / "own.csv"
    own.write_text("run,lr,status\na,0.1,completed\n")
    os.chmod(own, stat.S_IRUSR)
    if os.geteuid() != 0:  # root may write anything; the check is for everyone else
        with pytest.raises(ConfigError, match="read-only"):
            check_output(own, "table")
    assert check_output(own, "table", force=True) == own
    link = tmp_path / "link.png"
    link.symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(ConfigError, match="symbolic link"):
        check_output(link, "picture")
    with pytest.raises(ConfigError, match="not a regular file"):
        check_output("/dev/null.png" if os.path.exists("/dev/null.png") else _fifo(tmp_path), "picture")


def _fifo(tmp_path):
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


def test_forced_write_through_a_symlink_replaces_the_link_not_its_target(a_run, tmp_path):
    target = tmp_path / "target.png"
    target.write_bytes(UNRELATED)
    link = tmp_path / "link.png"
    link.symlink_to(target)
    invoke("plot", a_run, "--out", link, "--force")
    assert target.read_bytes() == UNRELATED and not link.is_symlink() and is_own_output(link, "picture")


def test_svg_pictures_are_written_and_marked(a_run, tmp_path):
    out = tmp_path / "curves.svg"
    invoke("plot", a_run, "--out", out)
    assert out.read_bytes().lstrip().startswith(b"<?xml") and is_own_output(out, "picture")
