"""TPE proposals (through Optuna): a pure function of the sweep seed, the position and the history."""

from __future__ import annotations

import math
import sys

import pytest

from nnctl.core.errors import ConfigError
from nnctl.search.space import build_space
from nnctl.search.tpe import Finished, check_space, propose

pytest.importorskip("optuna")


def space(**extra):
    params = {"lr": "loguniform:1e-4:1e-1", "activation": ["relu", "tanh"], "early_stopping": "int:4:64"}
    return build_space("random", {"base": {"model": "mlp:8"}, "params": params, "trials": 40, **extra})


def loss(point):  # a known optimum: lr 1e-2, relu, any patience
    return (math.log10(point["lr"]) + 2) ** 2 + (0.3 if point["activation"] == "tanh" else 0.0)


def run(s, n=40, batch=4):
    history, points = [], []
    for i in range(n):
        points.append(propose(s, i, history[: (i // batch) * batch], higher_better=False, batch=batch))
        if i % batch == batch - 1:
            history += [Finished(p, "complete", loss(p)) for p in points[len(history) :]]
    return points


def test_the_same_seed_proposes_the_same_points_and_another_seed_others():
    first, again = run(space()), run(space())
    assert first == again
    assert run(space(sweep_seed=1)) != first
    # rebuilt from the history alone, a point in the middle is the same point (a resume)
    history = [Finished(p, "complete", loss(p)) for p in first[:24]]
    assert propose(space(), 26, history, higher_better=False) == first[26]


def test_values_stay_in_their_ranges_and_types():
    for p in run(space(), n=16):
        assert 1e-4 <= p["lr"] <= 1e-1 and p["lr"] == float(f"{p['lr']:.6g}")
        assert (
            p["activation"] in ("relu", "tanh")
            and isinstance(p["early_stopping"], int)
            and 4 <= p["early_stopping"] <= 64
        )


def test_after_the_random_start_it_proposes_near_the_good_points():
    points = run(space())
    random_start, modelled = points[:12], points[-12:]
    assert sum(map(loss, modelled)) / 12 < 0.5 * sum(map(loss, random_start)) / 12


def test_pruned_and_failed_points_enter_the_history_as_such():
    s, points = space(), run(space(), n=8)
    history = [Finished(points[0], "pruned", None, {1: 2.0, 3: 1.5}), Finished(points[1], "failed")]
    history += [Finished(p, "complete", loss(p)) for p in points[2:8]]
    assert propose(s, 8, history, higher_better=False) == propose(s, 8, history, higher_better=False)
    with pytest.raises(ValueError, match="proposed from the 8 points before its batch, got 7"):
        propose(s, 8, history[:7], higher_better=False)


def test_a_space_of_lists_only_is_one_line():
    grid_like = build_space(
        "random", {"params": {"lr": ["0.1", "0.01"], "activation": "choice:relu,tanh"}, "trials": 4}
    )
    with pytest.raises(ConfigError, match="every axis is a list or a choice; give at least one range"):
        check_space(grid_like)


def test_without_optuna_the_message_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # what an environment without the extra sees
    with pytest.raises(
        ConfigError, match=r"needs Optuna, which is not installed; install it with: pip install 'nnctl\[search\]'"
    ):
        propose(space(), 0, [], higher_better=False)
