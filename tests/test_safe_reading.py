"""Reading user files never executes them: NPZ without pickle, configs as data, code files refused.

Each hostile file carries a payload that would create a marker file if it ran; the tests first show
the payload is live (unpickling it directly does create a marker), then that nnctl refuses the file
with a clear one-line error and the marker never appears.
"""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
from helpers import error_line, invoke

from nnctl.core.errors import DataError
from nnctl.data import load_dataset


class Payload:
    """Unpickling this calls open(marker, 'w'), which creates the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def train(tmp_path, *args):
    """Kept: the exit code is left to assert_refused, which checks it."""
    return invoke("train", "--results-dir", tmp_path / "results", "--quiet", *args, expect=None)


def assert_refused(result, tmp_path, *fragments: str) -> str:
    """Kept beside test_bad_data's: here the results directory must not even be created."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    err = error_line(result)
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not (tmp_path / "results").exists()
    return err


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "MARKER"
    yield path
    assert not path.exists(), "a payload in a user file was executed"


def test_payload_is_live(tmp_path):
    """Control: the payload really runs when unpickled, so its absence below means something."""
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control))).close()
    assert control.exists()


@pytest.mark.parametrize("key", ["X", "y"])
def test_npz_with_pickled_object_array_is_refused(tmp_path, marker, key):
    arrays = {"X": np.zeros((4, 2)), "y": np.array([0, 1, 0, 1])}
    objects = np.empty(4, dtype=object)
    objects[:] = [Payload(marker), 1, 2.0, "a"]
    arrays[key] = objects
    path = tmp_path / "data.npz"
    np.savez(path, allow_pickle=True, **arrays)
    with pytest.raises(DataError, match=f"array '{key}' in .* holds Python objects"):
        load_dataset(str(path))
    assert_refused(
        train(tmp_path, "--data", str(path)),
        tmp_path,
        f"array '{key}' in '{path}' holds Python objects (dtype=object), which are not loaded",
    )


@pytest.mark.parametrize("name", ["data.npz", "data.csv", "data.csv.gz"])
def test_raw_pickle_under_a_data_name_is_refused_by_content(tmp_path, marker, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(Payload(marker), protocol=4))
    expected = {
        "data.npz": "it is not a zip file but looks like a pickle, which is never loaded",
        "data.csv": "is not a CSV text file: it holds binary data",
        "data.csv.gz": "is not a readable gzip file",
    }[name]
    assert_refused(train(tmp_path, "--data", str(path)), tmp_path, f"'{path}'", expected)


def test_npy_object_array_named_npz_is_refused(tmp_path, marker):
    objects = np.empty(2, dtype=object)
    objects[:] = [Payload(marker), 0]
    path = tmp_path / "data.npz"
    with open(path, "wb") as fh:
        np.save(fh, objects, allow_pickle=True)
    assert_refused(train(tmp_path, "--data", str(path)), tmp_path, "holds a single array (.npy), not an .npz")


@pytest.mark.parametrize("suffix", [".py", ".pkl", ".pickle", ".npy"])
def test_code_and_pickle_files_as_data_are_refused_by_extension(tmp_path, marker, suffix):
    path = tmp_path / f"data{suffix}"
    if suffix == ".py":
        path.write_text(f"open({str(marker)!r}, 'w')\n")
    else:
        path.write_bytes(pickle.dumps(Payload(marker)))
    assert_refused(
        train(tmp_path, "--data", str(path)),
        tmp_path,
        f"unsupported dataset file '{path}'; expected one of: .csv, .csv.gz, .npz",
    )


# --- --config files --------------------------------------------------------------------------------

CODE = "__import__('os').system('touch MARKER')"


@pytest.mark.parametrize(
    "key, expected",
    [
        ("lr", f"lr={CODE!r} is not allowed; expected a number or 'auto'"),
        ("epochs", f"epochs={CODE!r} is not allowed; expected an integer"),
        ("optimizer", "invalid component name"),
        ("model", "model \"__import__('os')"),
        ("data", "invalid component name"),
    ],
)
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_config_values_that_look_like_code_are_data(tmp_path, marker, monkeypatch, key, expected, fmt):
    monkeypatch.chdir(tmp_path)  # the payload would create ./MARKER
    path = tmp_path / f"run.{fmt}"
    if fmt == "toml":
        path.write_text(f"{key} = {json.dumps(CODE)}\n")
    else:
        path.write_text(json.dumps({key: CODE}))
    assert_refused(train(tmp_path, "--config", str(path)), tmp_path, expected)


def test_config_holding_code_is_a_parse_error(tmp_path, marker):
    path = tmp_path / "run.toml"
    path.write_text(f"import os\nos.system('touch {marker}')\n")
    assert_refused(train(tmp_path, "--config", str(path)), tmp_path, f"config file '{path}' cannot be parsed")


@pytest.mark.parametrize("suffix", [".py", ".pkl", ".yaml"])
def test_config_of_another_format_is_refused_by_extension(tmp_path, marker, suffix):
    path = tmp_path / f"run{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps(Payload(marker)))
    else:
        path.write_text(f"open({str(marker)!r}, 'w')\n")
    assert_refused(train(tmp_path, "--config", str(path)), tmp_path, f"config file '{path}' must end in .toml or .json")


@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_pickle_renamed_as_config_is_refused_by_content(tmp_path, marker, suffix):
    path = tmp_path / f"run{suffix}"
    path.write_bytes(pickle.dumps(Payload(marker)))
    assert_refused(
        train(tmp_path, "--config", str(path)),
        tmp_path,
        f"config file '{path}' is not UTF-8 text (byte 0x80 at offset 0: binary data?); expected a TOML or JSON file",
    )
