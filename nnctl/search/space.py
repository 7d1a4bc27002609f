"""A search space and its pure expansion into trials.

A sweep is a base run (the same options as ``nnctl train``) plus *axes*: run options with a list of
values (grid search) or a distribution (random search). :func:`expand` turns a :class:`SearchSpace`
into the list of :class:`Trial` s it stands for — complete, validated run configurations — without
running or writing anything, so the expansion can be printed (``--dry-run``) and tested on its own.

Grid search walks the Cartesian product of the axes, the first axis varying slowest. Zipped axes
(``zip = [["lr", "batch_size"]]``) are walked together, value i with value i, as one axis. Random
search draws ``trials`` points from a generator seeded with ``sweep_seed``; when every axis is
discrete the points are drawn *without replacement* (no trial twice), and at most all of them.
``repeats = K`` runs every point with the seeds ``seed, seed+1, …, seed+K-1`` (the seed is one more
axis, varying fastest), so every result comes with a mean and a standard deviation.

Identity: a trial is named by a hash of its configuration (stable JSON, SHA-256, first 12 hex
digits), not by its position, so reordering axes or adding values never renames a finished trial.
A sweep is named by its name and the hash of its canonical spec: running the same sweep again finds
the same directory and resumes it.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import ConfigError, suggestion
from ..core.registry import check_int, quoted
from ..training.config import RunConfig
from .distributions import Distribution, is_distribution, parse_distribution, split_values
from .identity import point_id, trial_id

KINDS = ("grid", "random", "tpe")
#: kinds whose points are drawn (``trials`` of them from ``sweep_seed``) rather than listed
DRAWN = ("random", "tpe")
NOT_AXES = ("name", "results_dir")
SAMPLE_WITH_CHOICE = 1_000_000  # discrete spaces up to this size are sampled by np.random.Generator.choice
#: most trials one sweep may expand to (points × repeats).
MAX_TRIALS = 10_000
_UINT = re.compile(r"[0-9]{1,30}")


@dataclass
class SearchSpace:
    """What to run: a base configuration and the axes to vary (values already checked and coerced)."""

    kind: str = "grid"
    base: dict[str, Any] = field(default_factory=dict)
    params: dict[str, list[Any] | Distribution] = field(default_factory=dict)
    zip: list[list[str]] = field(default_factory=list)
    repeats: int = 1
    trials: int | None = None
    sweep_seed: int = 0
    name: str = ""
    batch: int = 4  # tpe: points proposed together from the same history (see nnctl/search/tpe.py)
    startup: int = 10  # tpe: points drawn at random before the model is used
    prune: str | None = None  # a pruner spec (nnctl/search/pruners.py), or no early termination
    audit: float = 0.0  # the fraction of pruned trials trained to the end anyway

    def base_config(self) -> RunConfig:
        return RunConfig.from_dict(self.base)

    def groups(self) -> list[tuple[str, ...]]:
        """Axes in walking order; zipped axes form one group, placed where its first axis appears."""
        zipped = {name: tuple(group) for group in self.zip for name in group}
        out: list[tuple[str, ...]] = []
        for name in self.params:
            group = zipped.get(name, (name,))
            if group not in out:
                out.append(group)
        return out

    def size(self) -> int | None:
        """Number of distinct points (before repeats); None when an axis is continuous."""
        total = 1
        for group in self.groups():
            values = self.params[group[0]]
            if isinstance(values, Distribution):
                if not values.discrete:
                    return None
                total *= len(values.support())
            else:
                total *= len(values)
        return total


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: its identity, the axis values that define it and its full configuration."""

    trial_id: str
    point_id: str  # the same for repeats of one point (hash without the seed)
    params: dict[str, Any]
    config: dict[str, Any]


# --- building a space from a raw spec (flags or a TOML file) -------------------------------------


def parse_param(text: str) -> tuple[str, list[str] | str]:
    """``--param KEY=VALUES``: a list of values (``;``-separated when any contains a comma) or a
    distribution string."""
    key, sep, values = text.partition("=")
    key = key.strip()
    if not sep or not key or not values.strip():
        raise ConfigError(f"--param {text!r} is not KEY=VALUES; e.g. --param lr=0.1,0.01 or lr=loguniform:1e-4:1e-1")
    values = values.strip()
    return key, values if is_distribution(values) else split_values(values)


def build_space(kind: str, raw: dict[str, Any]) -> SearchSpace:
    """Check and normalize a raw spec (keys: name, base, params, zip, repeats, trials, sweep_seed;
    tpe: batch, startup; any kind: prune, audit)."""
    if not isinstance(kind, str) or kind not in KINDS:
        raise ConfigError(f"sweep kind {kind!r} is not allowed; allowed: {', '.join(KINDS)}")
    if not isinstance(raw, dict):
        raise ConfigError(f"a sweep spec must be a table of settings, got {type(raw).__name__}")
    for table in ("base", "params"):
        if raw.get(table) is not None and not isinstance(raw[table], dict):
            raise ConfigError(f"sweep '{table}' must be a table of options, got {type(raw[table]).__name__}")
    base = dict(raw.get("base") or {})
    name = raw.get("name") or base.pop("name", None) or ""
    if not isinstance(name, (str, int, float)) or isinstance(name, bool):
        raise ConfigError(f"sweep name={name!r} is not allowed; expected a string")
    RunConfig.from_dict({"name": str(name)})  # the same limit as a run's name: it starts the sweep id
    base.pop("name", None)
    base_cfg = RunConfig.from_dict(base)  # unknown or bad base options fail here
    base = {k.replace("-", "_"): v for k, v in base.items()}
    base = {k: getattr(base_cfg, k) for k in base}
    repeats = 1 if raw.get("repeats") is None else _positive_int("repeats", raw["repeats"])
    space = SearchSpace(kind=kind, base=base, repeats=repeats, name=str(name))
    zip_raw = _zip_lists(raw.get("zip") or [])
    zipped = {_axis_name(n) for group in zip_raw for n in group}
    for key, values in (raw.get("params") or {}).items():
        key = _axis_name(key)
        if key in space.params:
            raise ConfigError(f"axis '{key}' is given twice; give each axis once")
        # a zipped axis may repeat a value: the tuples walked together must differ, not each value
        space.params[key] = _axis_values(kind, key, values, base_cfg, unique=key not in zipped)
    space.zip = _zip_groups(zip_raw, space)
    if repeats > 1 and "seed" in space.params:
        raise ConfigError("repeats and a 'seed' axis both set the seed; use one of them")
    if kind in DRAWN:
        what = "random search" if kind == "random" else "tpe"
        if not space.params:
            raise ConfigError(f"{what} needs at least one axis, e.g. --param lr=loguniform:1e-4:1e-1")
        if raw.get("trials") is None:
            raise ConfigError(f"{what} needs a number of trials, e.g. --trials 20 (or trials = 20 in the spec)")
        space.trials = _positive_int("trials", raw["trials"])
        space.sweep_seed = _seed(raw.get("sweep_seed", 0))
        size = space.size()
        points = space.trials if size is None else min(space.trials, size)
        if kind == "tpe":
            from .tpe import check_space

            check_space(space)
            space.batch = check_int("tpe", "batch", raw.get("batch", 4), 1, 1000)
            space.startup = check_int("tpe", "startup", raw.get("startup", 10), 0, 10_000)
            points = space.trials
    elif not space.params and repeats == 1:
        raise ConfigError("a sweep needs at least one axis, e.g. --param lr=0.1,0.01 (or --repeats K)")
    else:
        points = space.size() or 1
    from .pruners import set_pruning

    set_pruning(space, raw)
    if points * repeats > MAX_TRIALS:
        raise ConfigError(
            f"this sweep expands to {points} points x {repeats} repeats = {points * repeats} trials; "
            f"allowed: at most {MAX_TRIALS}"
        )
    return space


def _zip_lists(groups: Any) -> list[list[Any]]:
    """The zip setting as lists of axis names: ``[["lr", "batch_size"]]``, ``["lr,batch_size"]`` or
    ``"lr,batch_size"``."""
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, (list, tuple)):
        raise ConfigError(f'zip={groups!r} is not allowed; expected groups of axis names, e.g. [["lr", "batch_size"]]')
    out = []
    for group in groups:
        names = split_values(group) if isinstance(group, str) else group
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f'zip group {group!r} is not allowed; expected axis names, e.g. ["lr", "batch_size"] or "lr,batch_size"'
            )
        out.append(list(names))
    return out


def _axis_name(key: str) -> str:
    norm = str(key).strip().replace("-", "_")
    names = [n for n in RunConfig.option_names() if n not in NOT_AXES]
    if norm in NOT_AXES:
        raise ConfigError(f"'{norm}' cannot be a sweep axis; it names the sweep, not a run option to vary")
    if norm not in names:
        raise ConfigError(f"unknown sweep axis {quoted(key)}; valid: {', '.join(names)}" + suggestion(norm, names))
    return norm


def _coerce(key: str, value: Any, base_cfg: RunConfig) -> Any:
    """The value as RunConfig stores it (``"0.1"`` → 0.1); ConfigError if the option rejects it."""
    try:
        return getattr(RunConfig.from_dict({key: value}, base=base_cfg), key)
    except ConfigError as exc:
        raise ConfigError(f"axis {key}: {exc}") from None


def _axis_values(
    kind: str, key: str, values: Any, base_cfg: RunConfig, unique: bool = True
) -> list[Any] | Distribution:
    if isinstance(values, str):
        values = parse_distribution(key, values) if is_distribution(values) else split_values(values)
    elif not isinstance(values, (list, tuple)):
        values = [values]
    if isinstance(values, Distribution):
        if values.kind == "choice" or (kind == "grid" and values.discrete):
            if len(values.support()) > MAX_TRIALS:
                raise ConfigError(
                    f"grid axis {key}={values} has {len(values.support())} values; allowed: at most {MAX_TRIALS} "
                    "(use 'nnctl sweep random' to sample a large range)"
                )
            values = list(values.support())  # choice:a,b is the list a,b; a grid walks int:a:b
        elif kind == "grid":
            raise ConfigError(
                f"grid axis {key}={values} is continuous; give a list of values or use 'nnctl sweep random'"
            )
        else:
            for bound in (values.low, values.high):
                _coerce(key, int(bound) if values.kind == "int" else bound, base_cfg)
            return values
    if not values:
        raise ConfigError(f"axis {key} has no values")
    if len(values) > MAX_TRIALS:
        raise ConfigError(f"axis {key} has {len(values)} values; allowed: at most {MAX_TRIALS}")
    coerced = [_coerce(key, v, base_cfg) for v in values]
    counts = Counter(coerced)
    dupes = sorted({str(v) for v in coerced if counts[v] > 1})
    if dupes and unique:
        raise ConfigError(f"axis {key} lists {', '.join(dupes)} more than once; give each value once")
    return coerced


def _zip_groups(groups: Any, space: SearchSpace) -> list[list[str]]:
    """``[["lr", "batch_size"]]`` or ``["lr,batch_size"]``: axes walked together, lengths equal."""
    out: list[list[str]] = []
    seen: set[str] = set()
    for group in _zip_lists(groups):
        names = [_axis_name(n) for n in group]
        if len(names) < 2:
            raise ConfigError(f"zip group {names} needs at least two axes, e.g. --zip lr,batch_size")
        for n in names:
            if n not in space.params:
                raise ConfigError(f"zip names '{n}', which is not an axis; axes: {', '.join(space.params) or 'none'}")
            if n in seen:
                raise ConfigError(f"axis '{n}' is in two zip groups; an axis can be zipped once")
            if isinstance(space.params[n], Distribution):
                raise ConfigError(f"zip needs lists of values, but axis {n}={space.params[n]} is a distribution")
            seen.add(n)
        lengths = {n: len(space.params[n]) for n in names}
        if len(set(lengths.values())) > 1:
            listed = ", ".join(f"{n} has {k}" for n, k in lengths.items())
            raise ConfigError(f"zipped axes must have equal lengths: {listed}")
        tuples = [str(t) for t in zip(*(space.params[n] for n in names))]
        counts = Counter(tuples)
        dupes = sorted({t for t in tuples if counts[t] > 1})
        if dupes:
            raise ConfigError(
                f"zipped axes {', '.join(names)} list {', '.join(dupes)} more than once; give each combination once"
            )
        out.append(names)
    return out


def _positive_int(what: str, value: Any) -> int:
    """An integer 1..MAX_TRIALS given as an int or a digit string."""
    if isinstance(value, str) and _UINT.fullmatch(value.strip()):
        value = int(value)
    return check_int("", what, value, 1, MAX_TRIALS)


def _seed(value: Any) -> int:
    """A non-negative integer seed given as an int or a digit string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not _UINT.fullmatch(str(value).strip()):
        raise ConfigError(f"sweep_seed={value!r} is not allowed; expected an integer >= 0")
    return int(value)


# --- expansion -------------------------------------------------------------------------------------


def expand(space: SearchSpace) -> list[Trial]:
    """All trials of ``space``: grid points or random draws, times the repeat seeds. Pure.
    (A tpe sweep's points are proposed while it runs: see :func:`point_trials`.)"""
    if space.kind == "tpe":
        raise ConfigError("a tpe sweep proposes its points while it runs; they cannot be listed in advance")
    points = _grid_points(space) if space.kind == "grid" else _random_points(space)
    base_cfg = space.base_config()
    return [trial for point in points for trial in point_trials(space, point, base_cfg)]


def point_trials(space: SearchSpace, point: dict[str, Any], base_cfg: RunConfig | None = None) -> list[Trial]:
    """The trials of one point: one per repeat seed, each named by its configuration."""
    base_cfg = base_cfg or space.base_config()
    trials = []
    for seed in (base_cfg.seed + i for i in range(space.repeats)):
        params = dict(point) if space.repeats == 1 else {**point, "seed": seed}
        config = base_cfg.replace(**params).to_dict()
        tid = trial_id(config)
        config["name"] = tid
        trials.append(Trial(tid, point_id(config), params, config))
    return trials


def group_values(space: SearchSpace, group: tuple[str, ...]) -> list[tuple[Any, ...]]:
    first = space.params[group[0]]
    if isinstance(first, Distribution):
        return _Singles(first.support())  # type: ignore[return-value]
    return list(zip(*(space.params[n] for n in group)))


class _Singles(Sequence):
    """The values of a discrete distribution as 1-tuples, without building the list."""

    def __init__(self, values: Sequence):
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i):  # type: ignore[override]
        return (self.values[i],)


def _grid_points(space: SearchSpace) -> list[dict[str, Any]]:
    groups = space.groups()
    columns = [group_values(space, g) for g in groups]
    return [
        {name: value for group, values in zip(groups, combo) for name, value in zip(group, values)}
        for combo in itertools.product(*columns)
    ]


def _random_points(space: SearchSpace) -> list[dict[str, Any]]:
    """Draw ``space.trials`` points; groups in sorted order so that axis order never changes a draw."""
    rng = np.random.default_rng(space.sweep_seed)
    groups = sorted(space.groups())
    size = space.size()
    if size is not None:  # every axis discrete: without replacement
        columns = [group_values(space, g) for g in groups]
        n = min(space.trials, size)
        if size <= SAMPLE_WITH_CHOICE:
            flat = [int(i) for i in rng.choice(size, n, replace=False)]
            picks = [_unravel(i, [len(c) for c in columns]) for i in flat]
        else:  # a huge space: draw index tuples and drop repeats (n is far below size)
            seen: set[tuple[int, ...]] = set()
            picks = []
            while len(picks) < n:
                pick = tuple(int(rng.integers(len(c))) for c in columns)
                if pick not in seen:
                    seen.add(pick)
                    picks.append(pick)
        return [
            {name: value for group, column, i in zip(groups, columns, pick) for name, value in zip(group, column[i])}
            for pick in picks
        ]
    points = []
    for _ in range(space.trials):
        point: dict[str, Any] = {}
        for group in groups:
            values = space.params[group[0]]
            if isinstance(values, Distribution):
                point[group[0]] = values.sample(rng)
            else:
                i = int(rng.integers(len(values)))
                point.update({name: space.params[name][i] for name in group})
        points.append(point)
    return points


def _unravel(index: int, sizes: list[int]) -> tuple[int, ...]:
    """Mixed-radix digits of ``index`` (last size fastest), like ``np.unravel_index`` for Python ints."""
    digits = []
    for size in reversed(sizes):
        index, digit = divmod(index, size)
        digits.append(digit)
    return tuple(reversed(digits))
