"""Sweep spec files (TOML) and how flags override them.

A spec file holds exactly what the flags hold::

    name = "init-sweep"          # --name
    repeats = 3                  # --repeats
    trials = 20                  # --trials (random search)
    sweep_seed = 0               # --sweep-seed (random search)
    zip = [["lr", "batch_size"]] # --zip lr,batch_size

    [base]                       # the run options of `nnctl train` (--data, --model, --epochs, ...)
    model = "mlp:64"

    [params]                     # --param KEY=VALUES
    init = ["zeros", "glorot_normal", "he_normal"]
    lr = "loguniform:1e-4:1e-1"

A TOML list gives values one by one (no separator rules); a string is read like a ``--param``
value: a distribution, or values separated by ``;`` when it contains one, else by commas.
Flags override the file: base options and axes key by key, the other settings as a whole.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..core.errors import ConfigError, DataError, suggestion
from ..core.registry import quoted
from ..training.config import read_table_file

SPEC_KEYS = ("name", "base", "params", "zip", "repeats", "trials", "sweep_seed", "batch", "startup", "prune", "audit")
#: what the command line may set over a spec file (the rest is the file's)
FLAG_KEYS = ("name", "zip", "repeats", "trials", "sweep_seed", "prune", "audit")


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The raw spec in a TOML file (parsed as data, never executed)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"sweep spec '{path}' does not exist")
    if path.suffix.lower() != ".toml":
        raise ConfigError(f"sweep spec '{path}' must be a .toml file")
    data = read_table_file(path, "sweep spec")
    for key in data:
        if key not in SPEC_KEYS:
            raise ConfigError(
                f"sweep spec '{path}': unknown key {quoted(key)}; valid: {', '.join(SPEC_KEYS)}"
                + suggestion(key, SPEC_KEYS)
            )
    for table in ("base", "params"):
        if table in data and not isinstance(data[table], dict):
            raise ConfigError(f"sweep spec '{path}': '{table}' must be a table ([{table}])")
    return data


def merge_specs(file_spec: dict[str, Any], flag_spec: dict[str, Any]) -> dict[str, Any]:
    """``flag_spec`` over ``file_spec``: base and params key by key; zip, repeats, trials, sweep_seed,
    prune, audit and name replaced when the flags give them (None = not given)."""
    merged = {k: v for k, v in file_spec.items() if k not in ("base", "params")}
    for table in ("base", "params"):
        merged[table] = {
            _key(k): v for part in (file_spec.get(table), flag_spec.get(table)) for k, v in (part or {}).items()
        }
    for key in FLAG_KEYS:
        if flag_spec.get(key) not in (None, [], ""):
            merged[key] = flag_spec[key]
    return merged


def _key(name: str) -> str:
    return str(name).strip().replace("-", "_")
