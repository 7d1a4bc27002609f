"""What names a sweep and a trial: hashes of their configurations, never their positions.

A trial's id is the first 12 hex digits of the SHA-256 of its configuration (stable JSON, options at
their defaults and bookkeeping left out), so the same configuration always finds the same trial
directory and a sweep resumes by identity; a point's id leaves out the seed (the seeds of one point
share it). A sweep's id is its name and the hash of its canonical spec.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..results.store import sanitize_name
from ..training.config import RunConfig
from .distributions import Distribution

if TYPE_CHECKING:
    from .space import SearchSpace

UNHASHED = ("name", "results_dir")  # bookkeeping: where and under what label, not what is trained


def stable_hash(obj: Any, n: int = 12) -> str:
    """First ``n`` hex digits of SHA-256 over stable JSON (sorted keys, no spaces, shortest floats)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """What names a configuration: its options without bookkeeping and without the options left at
    their defaults, so that a new option (at its default) changes no existing trial's or sweep's id."""
    defaults = RunConfig().to_dict()
    return {k: v for k, v in config.items() if k not in UNHASHED and (k not in defaults or v != defaults[k])}


def trial_id(config: dict[str, Any]) -> str:
    return stable_hash(identity(config))


def point_id(config: dict[str, Any]) -> str:
    return stable_hash({k: v for k, v in identity(config).items() if k != "seed"})


def canonical_spec(space: SearchSpace) -> dict[str, Any]:
    """The spec as plain data (what ``sweep.json`` stores); equal spaces give equal dicts."""
    spec: dict[str, Any] = {
        "kind": space.kind,
        "name": space.name,
        "base": dict(space.base),
        "params": {k: str(v) if isinstance(v, Distribution) else list(v) for k, v in space.params.items()},
        "zip": [list(g) for g in space.zip],
        "repeats": space.repeats,
    }
    if space.kind in ("random", "tpe"):
        spec["trials"] = space.trials
        spec["sweep_seed"] = space.sweep_seed
    if space.kind == "tpe":
        spec.update(batch=space.batch, startup=space.startup)
    if space.prune:  # absent otherwise: sweeps without pruning keep their ids
        spec["prune"] = space.prune
        if space.audit:
            spec["audit"] = space.audit
    return spec


def sweep_id(space: SearchSpace) -> str:
    """``<name>-<hash>`` (or ``sweep-<hash>``), the hash over the canonical spec with the base fully
    resolved (so ``--epochs 30`` and the default 30 are the same sweep) and without name/results_dir."""
    spec = canonical_spec(space)
    spec.pop("name")
    spec["base"] = identity(space.base_config().to_dict())
    spec["zip"] = sorted(sorted(g) for g in spec["zip"])
    return f"{sanitize_name(space.name) or 'sweep'}-{stable_hash(spec)}"
