"""The pruners' rule, rungs and brackets, checked by hand and against Optuna's pruners."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, NnctlError
from nnctl.search.pruners import RungBoard, make_pruner


def test_rungs_are_min_epochs_times_powers_of_the_factor_below_the_last_epoch():
    assert make_pruner("asha").rungs(30) == [1, 3, 9, 27]
    assert make_pruner("asha:min_epochs=2,factor=2").rungs(20) == [2, 4, 8, 16]
    assert make_pruner("asha:min_epochs=3").rungs(9) == [3]
    hb = make_pruner("hyperband:min_epochs=1,factor=3")
    assert hb.n_brackets(30) == 4 and [hb.rungs(30, s) for s in range(4)] == [[1, 3, 9, 27], [3, 9, 27], [9, 27], [27]]
    assert [hb.bracket(i, 30) for i in range(6)] == [0, 1, 2, 3, 0, 1]
    assert make_pruner("hyperband:brackets=2").n_brackets(30) == 2


def test_the_rule_keeps_the_best_floor_n_over_eta_of_the_values_so_far():
    asha = make_pruner("asha:factor=3")
    # the first trial at a rung always goes on; then the best ⌊n/3⌋ (at least one) of n
    assert not asha.decide(0, 1, 0.5, [], higher_better=False).prune
    assert asha.decide(0, 1, 0.6, [0.5], higher_better=False).prune
    assert not asha.decide(0, 1, 0.4, [0.5], higher_better=False).prune
    d = asha.decide(0, 1, 0.45, [0.5, 0.4, 0.3, 0.9, 0.8], higher_better=False)  # 6 values, best 2 go on
    assert d.prune and (d.rank, d.compared, d.kept) == (3, 6, 2)
    assert not asha.decide(0, 1, 0.95, [0.5, 0.4, 0.3, 0.9, 0.8], higher_better=True).prune
    assert asha.decide(2, 9, math.nan, [0.5], higher_better=False).prune
    assert d.reason("val_loss") == "pruned at epoch 1 (rung 0): val_loss ranked 3 of 6 trials there; the best 2 went on"


def test_halving_lets_the_first_trials_at_a_rung_all_go_on():
    halving = make_pruner("halving:bootstrap=3")
    assert not halving.decide(0, 1, 0.9, [0.1, 0.2], higher_better=False).prune
    assert halving.decide(0, 1, 0.9, [0.1, 0.2, 0.3], higher_better=False).prune


@pytest.mark.parametrize("direction", ["minimize", "maximize"])
def test_decisions_in_sweep_order_equal_optunas_successive_halving(direction):
    """Trials reported one after another (one worker) get Optuna's SuccessiveHalvingPruner's
    decisions: the same rule, the same rungs."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    epochs, rng = 30, np.random.default_rng(3)
    curves = [np.sort(rng.uniform(0.2, 2.0, epochs))[:: -1 if direction == "minimize" else 1] for _ in range(40)]
    study = optuna.create_study(
        direction=direction, pruner=optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    )
    expected = []
    for curve in curves:
        trial = study.ask()
        stopped = None
        for epoch in range(1, epochs + 1):
            trial.report(float(curve[epoch - 1]), epoch)
            if trial.should_prune():
                stopped = epoch
                break
        study.tell(trial, state=optuna.trial.TrialState.PRUNED if stopped else optuna.trial.TrialState.COMPLETE,
                   values=None if stopped else float(curve[-1]))  # fmt: skip
        expected.append(stopped)
    board = RungBoard(make_pruner("asha:min_epochs=1,factor=3"), epochs, higher_better=direction == "maximize")
    got = []
    for i, curve in enumerate(curves):
        stopped = None
        for epoch in range(1, epochs + 1):
            rung = board.record(i, epoch, float(curve[epoch - 1]))
            if rung is not None:
                assert board.awaited(i, rung) == []  # in order, every earlier trial has ended
                if board.decide(i, rung).prune:
                    stopped = epoch
                    break
        board.done.add(i)
        got.append(stopped)
    assert got == expected and any(got) and not all(got)


def test_a_decision_waits_for_the_earlier_trials_of_its_bracket():
    board = RungBoard(make_pruner("hyperband:brackets=2"), 30, higher_better=False)
    board.record(0, 1, 0.5)  # bracket 0, rung 0
    assert board.record(1, 1, 0.4) is None  # bracket 1's first rung is epoch 3
    assert board.record(2, 1, 0.6) == 0 and board.awaited(2, 0) == []
    assert board.decide(2, 0).prune  # 0.6 after 0.5: only the best goes on
    assert board.record(3, 3, 0.3) == 0 and board.awaited(3, 0) == [1]  # trial 1 has not reached epoch 3
    board.done.add(1)
    assert board.awaited(3, 0) == []


@pytest.mark.parametrize(
    "spec, message",
    [
        ("median", "unknown pruner 'median'; valid: asha, halving, hyperband"),
        ("asha:factor=1", "factor=1 is not allowed"),
        ("asha:min_epochs=0", "min_epochs=0 is not allowed"),
        ("asha:eta=3", "eta"),
    ],
)
def test_bad_pruner_specs_are_one_line(spec, message):
    with pytest.raises(NnctlError, match=message):
        make_pruner(spec)


def test_a_rung_beyond_the_epochs_or_no_validation_split_is_refused():
    with pytest.raises(ConfigError, match=r"first rung \(epoch 10\) is not before the last epoch \(5\)"):
        make_pruner("asha:min_epochs=10").check(5, has_validation=True)
    with pytest.raises(ConfigError, match="no validation split; set val_split > 0"):
        make_pruner("asha").check(30, has_validation=False)


def test_a_trial_that_starts_again_is_judged_afresh_and_decides_as_before():
    """Dask reruns a trial whose worker died: its epochs arrive from the first again, also after it
    was audited (pruned, trained on) or had its decision sent to the run that died."""
    from nnctl.search.pruning import SweepPruning
    from nnctl.search.space import build_space, expand

    space = build_space(
        "grid",
        {"base": {"epochs": 9}, "params": {"lr": [0.1, 0.2]}, "prune": "asha", "audit": 1.0},
    )
    pruning = SweepPruning(space)
    trials = expand(space)
    pruning.report(0, {"epoch": 1, "val_loss": 0.5})
    [(index, kept)] = pruning.ready(trials)
    assert index == 0 and not kept["prune"] and kept["epoch"] == 1
    pruning.report(1, {"epoch": 1, "val_loss": 0.9})
    [(index, first)] = pruning.ready(trials)
    assert index == 1 and first["prune"] and first["audit"] and first["epoch"] == 1
    pruning.report(1, {"epoch": 2, "val_loss": 0.8})  # audited: trains on, is compared no more
    assert pruning.blocked == 0
    pruning.report(1, {"epoch": 1, "val_loss": 0.9})  # started again from its first epoch
    assert pruning.ready(trials) == [(1, first)]  # the same decision, at the same rung
