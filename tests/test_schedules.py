"""Learning-rate schedules: values by hand, PyTorch's schedulers (optional), plateau logic, specs."""

from __future__ import annotations

import math

import pytest

from nnctl.core.errors import ConfigError, TrainingError
from nnctl.core.schedules import SCHEDULES


def started(spec: str, base_lr=0.1, steps_per_epoch=5, epochs=10):
    s = SCHEDULES.get(spec)
    s.start(base_lr, steps_per_epoch, epochs)
    return s


def test_constant():
    s = started("constant")
    assert [s.lr_at(k) for k in (0, 7, 49)] == [0.1, 0.1, 0.1]
    assert s.stop_requested is False


def test_step_decay_counts_epochs_not_updates():
    s = started("step_decay:step_size=2,gamma=0.5")  # 5 updates per epoch
    assert s.lr_at(0) == 0.1 and s.lr_at(9) == 0.1  # epochs 0 and 1
    assert s.lr_at(10) == pytest.approx(0.05)  # epoch 2
    assert s.lr_at(19) == pytest.approx(0.05)  # epoch 3
    assert s.lr_at(20) == pytest.approx(0.025)  # epoch 4


def test_multi_step():
    s = started("multi_step:milestones=2/5,gamma=0.1")
    expected = {0: 0.1, 9: 0.1, 10: 0.01, 24: 0.01, 25: 0.001, 49: 0.001}
    for step, lr in expected.items():
        assert s.lr_at(step) == pytest.approx(lr), step


def test_exponential():
    s = started("exponential:gamma=0.9")
    assert s.lr_at(4) == pytest.approx(0.1)
    assert s.lr_at(5) == pytest.approx(0.09)
    assert s.lr_at(17) == pytest.approx(0.1 * 0.9**3)


def test_inverse_sqrt_per_epoch_and_per_step():
    s = started("inverse_sqrt")
    assert s.lr_at(0) == 0.1 and s.lr_at(4) == 0.1
    assert s.lr_at(5) == pytest.approx(0.1 / math.sqrt(2))
    assert s.lr_at(15) == pytest.approx(0.1 / 2)  # epoch 3: η/√4
    s = started("inverse_sqrt:per=step")
    assert s.lr_at(1) == pytest.approx(0.1 / math.sqrt(2))
    assert s.lr_at(8) == pytest.approx(0.1 / 3)


def test_cosine_with_warmup():
    s = started("cosine:warmup=1.0,min_lr=0.01", base_lr=0.1, steps_per_epoch=4, epochs=5)  # W=4, T=20
    assert [s.lr_at(k) for k in range(4)] == pytest.approx([0.025, 0.05, 0.075, 0.1])
    assert s.lr_at(4) == pytest.approx(0.1)  # cosine starts at the top
    assert s.lr_at(12) == pytest.approx(0.01 + 0.09 * 0.5)  # half-way: p = 8/16
    assert s.lr_at(16) == pytest.approx(0.01 + 0.09 * 0.5 * (1 + math.cos(math.pi * 0.75)))
    assert s.lr_at(20) == pytest.approx(0.01) and s.lr_at(99) == pytest.approx(0.01)
    lrs = [s.lr_at(k) for k in range(4, 20)]
    assert all(a > b for a, b in zip(lrs, lrs[1:]))


def test_cosine_without_warmup_and_fractional_warmup():
    s = started("cosine", base_lr=1.0, steps_per_epoch=10, epochs=1)
    assert s.lr_at(0) == 1.0
    assert s.lr_at(5) == pytest.approx(0.5)
    s = started("cosine:warmup=0.5", base_lr=1.0, steps_per_epoch=10, epochs=2)  # 5 warmup updates
    assert s.lr_at(0) == pytest.approx(0.2) and s.lr_at(4) == pytest.approx(1.0)


def one_cycle_by_hand(step, total, max_lr, pct=0.3, div=25.0, final_div=1e4, anneal="cos"):
    """PyTorch OneCycleLR (two phases), written out."""
    initial, final = max_lr / div, max_lr / div / final_div
    end1 = pct * total - 1

    def interp(a, b, x):
        if anneal == "cos":
            return b + (a - b) / 2 * (math.cos(math.pi * x) + 1)
        return a + (b - a) * x

    if step <= end1:
        return interp(initial, max_lr, step / end1)
    return interp(max_lr, final, (step - end1) / (total - 1 - end1))


@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_against_formula(anneal):
    s = started(f"one_cycle:max_lr=1.0,anneal={anneal}", base_lr=0.1, steps_per_epoch=10, epochs=10)
    total = 100
    assert s.lr_at(0) == pytest.approx(1.0 / 25)
    assert s.lr_at(29) == pytest.approx(1.0)  # the peak at pct_start·T − 1
    assert s.lr_at(99) == pytest.approx(1.0 / 25 / 1e4)
    for step in (0, 1, 10, 28, 29, 30, 50, 98, 99):
        assert s.lr_at(step) == pytest.approx(one_cycle_by_hand(step, total, 1.0, anneal=anneal))
    assert s.lr_at(150) == s.lr_at(99)  # past the end: stays at the final rate


def test_one_cycle_defaults_to_optimizer_rate():
    s = started("one_cycle", base_lr=0.02, steps_per_epoch=10, epochs=2)
    assert max(s.lr_at(k) for k in range(20)) == pytest.approx(0.02)
    assert s.lr_at(0) == pytest.approx(0.02 / 25)


def test_one_cycle_matches_torch():
    torch = pytest.importorskip("torch")
    total = 37
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=0.5,
        total_steps=total,
        pct_start=0.25,
        div_factor=10.0,
        final_div_factor=100.0,
        cycle_momentum=False,
    )
    ours = started("one_cycle:max_lr=0.5,pct_start=0.25,div_factor=10,final_div_factor=100", 0.1, total, 1)
    for step in range(total):
        assert ours.lr_at(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12), step
        opt.step()
        sched.step()


# --- reduce on plateau --------------------------------------------------------------------------


def feed(s, metrics):
    lrs = []
    for epoch, m in enumerate(metrics):
        s.on_epoch_end(epoch, m)
        lrs.append(s.lr_at(0))
    return lrs


def test_reduce_on_plateau_waits_for_patience():
    s = started("reduce_on_plateau:factor=0.5,patience=2", base_lr=0.1)
    # improve, then three epochs without improvement: reduced after the third (> patience)
    lrs = feed(s, [1.0, 0.9, 0.9, 0.95, 0.9, 0.8, 0.8, 0.8, 0.8])
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025])
    assert not s.stop_requested


def test_reduce_on_plateau_relative_threshold_and_max_mode():
    s = started("reduce_on_plateau:patience=0,threshold=0.01", base_lr=1.0)
    feed(s, [1.0])
    feed(s, [0.995])  # not below 1.0·(1 − 0.01): counts as no improvement
    assert s.lr_at(0) == pytest.approx(0.1)
    s = started("reduce_on_plateau:patience=0,mode=max", base_lr=1.0)
    assert feed(s, [0.5, 0.6, 0.7, 0.6]) == pytest.approx([1.0, 1.0, 1.0, 0.1])


def test_reduce_on_plateau_respects_min_lr():
    s = started("reduce_on_plateau:patience=0,factor=0.1,min_lr=0.003", base_lr=0.1)
    assert feed(s, [1.0, 1.0, 1.0, 1.0]) == pytest.approx([0.1, 0.01, 0.003, 0.003])


def test_reduce_on_plateau_stops_after_1024x_decay():
    s = started("reduce_on_plateau:patience=0,factor=0.5,stop_after_decay=1024", base_lr=0.1)
    s.on_epoch_end(0, 1.0)
    for epoch in range(1, 10):  # nine halvings: 512×
        s.on_epoch_end(epoch, 1.0)
        assert not s.stop_requested
    s.on_epoch_end(10, 1.0)  # the tenth: 1024×
    assert s.lr_at(0) == pytest.approx(0.1 / 1024)
    assert s.stop_requested
    s.start(0.1, 5, 10)  # a restart forgets everything
    assert not s.stop_requested and s.lr_at(0) == 0.1


def test_reduce_on_plateau_never_stops_by_default_and_needs_a_metric():
    s = started("reduce_on_plateau:patience=0,factor=0.5")
    feed(s, [1.0] * 30)
    assert not s.stop_requested
    with pytest.raises(TrainingError, match="needs a metric"):
        s.on_epoch_end(31, None)


def test_reduce_on_plateau_skips_reductions_smaller_than_eps_absolute():
    """PyTorch: a reduction below eps (1e-8, absolute) is skipped, so the rate stops falling."""
    s = started("reduce_on_plateau:patience=0,factor=0.1", base_lr=0.1)
    lrs = feed(s, [1.0] * 200)
    assert min(lrs) == pytest.approx(1e-8, rel=1e-9) and lrs[-1] == lrs[10]
    s = started("reduce_on_plateau:patience=0,factor=0.1,eps=1e-4", base_lr=0.1)
    assert feed(s, [1.0] * 10)[-1] == pytest.approx(1e-4)


def test_reduce_on_plateau_mode_follows_the_monitor():
    s = SCHEDULES.get("reduce_on_plateau")
    assert s.mode == "auto" and s.for_monitor("max").mode == "max" and s.for_monitor("min").mode == "min"
    assert SCHEDULES.get("reduce_on_plateau:mode=min").for_monitor("max").mode == "min"  # set explicitly


def test_reduce_on_plateau_with_val_acc_lowers_the_rate_only_when_accuracy_stalls():
    from nnctl.training import RunConfig, fit, prepare

    run = prepare(RunConfig(model="mlp:16", epochs=6, monitor="val_acc", schedule="reduce_on_plateau:patience=0"))
    assert "mode=max" in run.config.schedule
    result = fit(run)
    lrs = [row["lr"] for row in result.curve]
    accs = [row["val_acc"] for row in result.curve]
    for epoch in range(1, len(lrs) - 1):
        improved = accs[epoch] > max(accs[:epoch]) * (1 + 1e-4)
        assert (lrs[epoch + 1] < lrs[epoch]) == (not improved), (epoch, lrs, accs)


def test_reduce_on_plateau_matches_torch():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=2, threshold=1e-3, min_lr=0.002)
    ours = started("reduce_on_plateau:factor=0.3,patience=2,threshold=1e-3,min_lr=0.002", base_lr=0.1)
    metrics = [1.0, 0.8, 0.7999, 0.81, 0.9, 0.75, 0.75, 0.75, 0.75, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    for epoch, m in enumerate(metrics):
        ref.step(m)
        ours.on_epoch_end(epoch, m)
        assert ours.lr_at(0) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12), epoch


def test_reduce_on_plateau_matches_torch_in_max_mode_down_to_eps():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.1, patience=0)
    ours = started("reduce_on_plateau:factor=0.1,patience=0,mode=max", base_lr=0.1)
    for epoch in range(40):
        m = 0.5 if epoch % 3 else 0.5 + epoch / 100
        ref.step(m)
        ours.on_epoch_end(epoch, m)
        assert ours.lr_at(0) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12), epoch


# --- specs and validation -----------------------------------------------------------------------


ALL_SPECS = [
    "constant",
    "step_decay:step_size=3,gamma=0.5",
    "multi_step:milestones=30/60/90,gamma=0.2",
    "multi_step:milestones=7",
    "exponential:0.9",
    "inverse_sqrt:per=step",
    "cosine:warmup=0.5,min_lr=1e-5",
    "one_cycle",
    "one_cycle:max_lr=0.3,anneal=linear",
    "reduce_on_plateau:factor=0.5,patience=3,stop_after_decay=1024",
    "plateau:mode=max",
]


@pytest.mark.parametrize("spec", ALL_SPECS)
def test_spec_round_trip(spec):
    s = SCHEDULES.get(spec)
    again = SCHEDULES.get(s.spec())
    assert again == s and again.spec() == s.spec()


def test_registry_and_milestone_string_kept():
    assert set(SCHEDULES.names()) == {
        "constant",
        "step_decay",
        "multi_step",
        "exponential",
        "inverse_sqrt",
        "cosine",
        "one_cycle",
        "reduce_on_plateau",
    }
    s = SCHEDULES.get("multi_step:milestones=30/60/90")
    assert s.milestones == "30/60/90" and s.epoch_milestones == [30, 60, 90]
    assert SCHEDULES.get("multi_step:milestones=7").milestones == "7"


@pytest.mark.parametrize(
    "spec,message",
    [
        ("step_decay:step_size=0", "step_decay: step_size=0 is not allowed; expected an integer >= 1"),
        ("step_decay:gamma=0", "allowed: 0 < gamma <= 1"),
        ("multi_step:milestones=60/30", "multi_step: milestones=60/30 is not allowed"),
        ("multi_step:milestones=0/10", "increasing positive epoch numbers"),
        ("multi_step:milestones=a/b", "separated by '/'"),
        ("exponential:gamma=1.5", "exponential: gamma=1.5 is out of range; allowed: 0 < gamma <= 1"),
        ("inverse_sqrt:per=batch", "inverse_sqrt: per=batch is not allowed; valid: epoch, step"),
        ("cosine:warmup=-1", "allowed: 0 <= warmup"),
        ("cosine:min_lr=-0.1", "allowed: 0 <= min_lr"),
        ("one_cycle:pct_start=1.0", "allowed: 0 < pct_start < 1"),
        ("one_cycle:max_lr=-1", "allowed: 0 <= max_lr"),
        ("one_cycle:div_factor=0", "allowed: 0 < div_factor"),
        ("one_cycle:final_div_factor=-1", "allowed: 0 < final_div_factor"),
        ("one_cycle:anneal=exp", "one_cycle: anneal=exp is not allowed; valid: cos, linear"),
        ("reduce_on_plateau:factor=1.0", "allowed: 0 < factor < 1"),
        ("reduce_on_plateau:patience=-1", "patience=-1 is not allowed; expected an integer >= 0"),
        ("reduce_on_plateau:threshold=-1", "allowed: 0 <= threshold"),
        ("reduce_on_plateau:mode=lowest", "valid: auto, min, max"),
        ("reduce_on_plateau:eps=-1", "allowed: 0 <= eps"),
        ("reduce_on_plateau:stop_after_decay=0.5", "allowed: 1 < stop_after_decay"),
        ("reduce_on_plateau:patience=1.5", "expected an integer"),
    ],
)
def test_bad_values(spec, message):
    with pytest.raises(ConfigError) as info:
        SCHEDULES.get(spec)
    assert message in str(info.value)


def test_bad_start_arguments():
    with pytest.raises(ConfigError, match="steps_per_epoch=0"):
        SCHEDULES.get("constant").start(0.1, 0, 10)
    with pytest.raises(ConfigError, match="base_lr=-0.1"):
        SCHEDULES.get("constant").start(-0.1, 10, 10)
    with pytest.raises(ConfigError, match="warmup=20.0 epochs is longer than the run"):
        SCHEDULES.get("cosine:warmup=20").start(0.1, 10, 10)
    with pytest.raises(ConfigError, match="min_lr=0.5 is above the learning rate"):
        SCHEDULES.get("cosine:min_lr=0.5").start(0.1, 10, 10)


def test_lr_before_start_is_an_error():
    with pytest.raises(TrainingError, match="start"):
        SCHEDULES.get("exponential").lr_at(0)
