"""Optimizers: first steps against hand-written formulas, against torch.optim, and buffer hygiene."""

from __future__ import annotations

import platform
import tracemalloc

import numpy as np
import pytest

from nnctl.core.errors import ConfigError, TrainingError
from nnctl.core.optimizers import OPTIMIZERS, flush_denormals
from nnctl.core.schedules import SCHEDULES

P0 = np.array([1.0, -2.0, 0.5, 3.0])
GRADS = [
    np.array([0.5, -1.0, 0.25, 2.0]),
    np.array([-0.3, 0.8, 0.1, -1.5]),
    np.array([0.2, 0.4, -0.6, 1.0]),
]
LRS = [0.1, 0.05, 0.02]  # a changing rate, as a schedule would pass it
N_DECAY = 2  # the first two entries are "weights"; the last two are "biases"
MASK = np.array([1.0, 1.0, 0.0, 0.0])


def run(spec: str, lrs=LRS, n_decay=N_DECAY, dtype=np.float64, grads=GRADS):
    """Apply the optimizer for len(lrs) steps; return the parameters after each step."""
    opt = OPTIMIZERS.get(spec)
    p = P0.astype(dtype)
    opt.setup(p, n_decay)
    out = []
    for g, lr in zip(grads, lrs):
        opt.step(p, g.astype(dtype), lr=lr)
        out.append(p.copy())
    return opt, out


def check(spec: str, expected: list[np.ndarray], **kwargs) -> None:
    _, got = run(spec, **kwargs)
    for t, (a, b) in enumerate(zip(got, expected), start=1):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"{spec}, step {t}")


# --- first three steps, from the formulas written out here ------------------------------------------


def test_sgd_first_step_literal_and_three_steps():
    # step 1 by hand: θ − 0.1·(g + 0.1·θ) on the weights, θ − 0.1·g on the biases
    first = np.array([1.0 - 0.1 * (0.5 + 0.1), -2.0 - 0.1 * (-1.0 - 0.2), 0.5 - 0.025, 3.0 - 0.2])
    np.testing.assert_allclose(first, [0.94, -1.88, 0.475, 2.8])
    p, expected = P0.copy(), []
    for g, lr in zip(GRADS, LRS):
        p = p - lr * (g + 0.1 * MASK * p)
        expected.append(p)
    check("sgd:weight_decay=0.1", expected)


def test_momentum_pytorch_form_with_dampening():
    mu, d, wd = 0.9, 0.2, 0.05
    p = P0.copy()
    g1 = GRADS[0] + wd * MASK * p
    b = g1  # first step: b = g (no dampening)
    p1 = p - 0.1 * b
    g2 = GRADS[1] + wd * MASK * p1
    b = mu * b + (1 - d) * g2
    p2 = p1 - 0.05 * b
    g3 = GRADS[2] + wd * MASK * p2
    b = mu * b + (1 - d) * g3
    p3 = p2 - 0.02 * b
    check(f"momentum:momentum={mu},dampening={d},weight_decay={wd}", [p1, p2, p3])


def test_momentum_first_two_steps_literal():
    # b1 = g1 = [0.5, -1, 0.25, 2]; θ1 = θ0 − 0.1·b1; b2 = 0.9·b1 + g2; θ2 = θ1 − 0.05·b2
    p1 = np.array([0.95, -1.9, 0.475, 2.8])
    b2 = np.array([0.45 - 0.3, -0.9 + 0.8, 0.225 + 0.1, 1.8 - 1.5])
    p2 = p1 - 0.05 * b2
    _, got = run("momentum")
    np.testing.assert_allclose(got[0], p1, rtol=1e-14)
    np.testing.assert_allclose(got[1], p2, rtol=1e-14)


def test_nesterov():
    mu, wd = 0.8, 0.1
    p, b, expected = P0.copy(), None, []
    for g, lr in zip(GRADS, LRS):
        g = g + wd * MASK * p
        b = g.copy() if b is None else mu * b + g
        p = p - lr * (g + mu * b)
        expected.append(p)
    check(f"nesterov:momentum={mu},weight_decay={wd}", expected)


def test_adagrad_with_initial_accumulator():
    eps, acc, wd = 1e-10, 0.1, 0.01
    p, s, expected = P0.copy(), np.full(4, acc), []
    for g, lr in zip(GRADS, LRS):
        g = g + wd * MASK * p
        s = s + g * g
        p = p - lr * g / (np.sqrt(s) + eps)
        expected.append(p)
    check(f"adagrad:initial_accumulator={acc},weight_decay={wd}", expected)


@pytest.mark.parametrize("momentum,centered", [(0.0, False), (0.9, False), (0.0, True), (0.5, True)])
def test_rmsprop(momentum, centered):
    a, eps, wd = 0.9, 1e-8, 0.02
    p, v, gbar, b, expected = P0.copy(), np.zeros(4), np.zeros(4), np.zeros(4), []
    for g, lr in zip(GRADS, LRS):
        g = g + wd * MASK * p
        v = a * v + (1 - a) * g**2
        if centered:
            gbar = a * gbar + (1 - a) * g
            denom = np.sqrt(v - gbar**2) + eps
        else:
            denom = np.sqrt(v) + eps
        if momentum:
            b = momentum * b + g / denom
            p = p - lr * b
        else:
            p = p - lr * g / denom
        expected.append(p)
    flag = "true" if centered else "false"
    check(f"rmsprop:alpha={a},momentum={momentum},centered={flag},weight_decay={wd}", expected)


def test_adadelta():
    rho, eps, wd = 0.9, 1e-6, 0.1
    p, v, u, expected = P0.copy(), np.zeros(4), np.zeros(4), []
    for g, lr in zip(GRADS, [1.0, 0.5, 2.0]):
        g = g + wd * MASK * p
        v = rho * v + (1 - rho) * g**2
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2
        p = p - lr * delta
        expected.append(p)
    check(f"adadelta:weight_decay={wd}", expected, lrs=[1.0, 0.5, 2.0])


def adam_reference(b1, b2, eps, wd, amsgrad=False, decoupled=False, grads=GRADS, lrs=LRS):
    """Kingma & Ba with bias correction (textbook form: m̂ and v̂ computed explicitly)."""
    p, m, v, vmax, expected = P0.copy(), np.zeros(4), np.zeros(4), np.zeros(4), []
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        if decoupled:
            p = p - lr * wd * MASK * p
        else:
            g = g + wd * MASK * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        vmax = np.maximum(vmax, v)
        m_hat = m / (1 - b1**t)
        v_hat = (vmax if amsgrad else v) / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        expected.append(p)
    return expected


def test_adam_first_step_is_lr_times_sign():
    # t = 1: m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε) ≈ lr·sign(g)
    _, got = run("adam", lrs=[0.1])
    g = GRADS[0]
    np.testing.assert_allclose(got[0], P0 - 0.1 * g / (np.abs(g) + 1e-8), rtol=1e-14)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam(amsgrad):
    spec = f"adam:beta1=0.8,beta2=0.9,eps=1e-3,weight_decay=0.1,amsgrad={str(amsgrad).lower()}"
    grads = [GRADS[0], GRADS[1] * 0.1, GRADS[2] * 0.1]  # shrinking gradients so amsgrad matters
    expected = adam_reference(0.8, 0.9, 1e-3, 0.1, amsgrad, grads=grads)
    _, got = run(spec, grads=grads)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    if amsgrad:  # the max really changed the result
        plain = adam_reference(0.8, 0.9, 1e-3, 0.1, False, grads=grads)
        assert not np.allclose(plain[2], expected[2], rtol=1e-6)


def test_adamw_decoupled_decay_only_on_weights():
    check("adamw:weight_decay=0.5", adam_reference(0.9, 0.999, 1e-8, 0.5, decoupled=True))
    # and it is not Adam's coupled decay
    _, coupled = run("adam:weight_decay=0.5")
    _, decoupled = run("adamw:weight_decay=0.5")
    assert not np.allclose(coupled[2], decoupled[2])
    np.testing.assert_allclose(coupled[2][2:], decoupled[2][2:], rtol=1e-12)  # biases: same


def test_nadam():
    b1, b2, eps, psi, wd = 0.9, 0.999, 1e-8, 0.004, 0.1
    p, m, v, prod, expected = P0.copy(), np.zeros(4), np.zeros(4), 1.0, []
    for t, (g, lr) in enumerate(zip(GRADS, LRS), start=1):
        g = g + wd * MASK * p
        mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
        prod = prod * mu
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        denom = np.sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu) / (1 - prod) * g / denom - lr * mu_next / (1 - prod * mu_next) * m / denom
        expected.append(p)
    check(f"nadam:weight_decay={wd}", expected)


def test_lr_from_a_schedule_and_default_lr():
    sched = SCHEDULES.get("exponential:gamma=0.5")
    sched.start(0.1, steps_per_epoch=1, epochs=3)
    opt = OPTIMIZERS.get("sgd")
    p = P0.copy()
    opt.setup(p, 0)
    for step, g in enumerate(GRADS):
        opt.step(p, g, lr=sched.lr_at(step))
    np.testing.assert_allclose(p, P0 - 0.1 * GRADS[0] - 0.05 * GRADS[1] - 0.025 * GRADS[2], rtol=1e-14)
    opt.step(p, GRADS[0])  # no lr: the optimizer's own (0.01)
    assert opt.t == 4


# --- torch.optim on the same numbers (optional) -----------------------------------------------------

TORCH_CASES = [
    ("sgd:weight_decay=0.1", "SGD", dict(weight_decay=0.1)),
    ("momentum:dampening=0.1,weight_decay=0.1", "SGD", dict(momentum=0.9, dampening=0.1, weight_decay=0.1)),
    ("nesterov:weight_decay=0.1", "SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
    (
        "adagrad:initial_accumulator=0.1,weight_decay=0.1",
        "Adagrad",
        dict(initial_accumulator_value=0.1, eps=1e-10, weight_decay=0.1),
    ),
    ("rmsprop:weight_decay=0.1", "RMSprop", dict(alpha=0.99, eps=1e-8, weight_decay=0.1)),
    ("rmsprop:momentum=0.5,centered=true", "RMSprop", dict(momentum=0.5, centered=True)),
    ("adadelta:weight_decay=0.1", "Adadelta", dict(rho=0.9, eps=1e-6, weight_decay=0.1)),
    ("adam:weight_decay=0.1", "Adam", dict(betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1)),
    ("adam:beta2=0.9,amsgrad=true", "Adam", dict(betas=(0.9, 0.9), amsgrad=True)),
    ("adamw:weight_decay=0.1", "AdamW", dict(weight_decay=0.1)),
    ("nadam:weight_decay=0.1", "NAdam", dict(momentum_decay=0.004, weight_decay=0.1)),
]


@pytest.mark.parametrize("spec,torch_name,kwargs", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_matches_torch_optim(spec, torch_name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=6) * s for s in (1.0, 0.5, 2.0, 0.1, 1.0)]
    lrs = [0.05, 0.02, 0.04, 0.01, 0.03]
    old_dtype = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # NAdam keeps its μ-product in the default dtype
    try:
        p = rng.normal(size=6)
        tp = torch.nn.Parameter(torch.tensor(p.copy()))
        topt = getattr(torch.optim, torch_name)([tp], lr=lrs[0], **kwargs)
        opt = OPTIMIZERS.get(spec)
        opt.setup(p, n_decay=p.size)  # PyTorch decays every parameter
        for g, lr in zip(grads, lrs):
            for group in topt.param_groups:
                group["lr"] = lr
            tp.grad = torch.tensor(g)
            topt.step()
            opt.step(p, g, lr=lr)
            np.testing.assert_allclose(p, tp.detach().numpy(), rtol=1e-10, atol=1e-13)
    finally:
        torch.set_default_dtype(old_dtype)


# --- buffers, dtypes, state -------------------------------------------------------------------------

ALL_WITH_STATE = [
    "sgd:weight_decay=0.1",
    "momentum:dampening=0.1,weight_decay=0.1",
    "nesterov:weight_decay=0.1",
    "adagrad:weight_decay=0.1",
    "rmsprop:momentum=0.9,centered=true,weight_decay=0.1",
    "adadelta:weight_decay=0.1",
    "adam:amsgrad=true,weight_decay=0.1",
    "adamw",
    "nadam:weight_decay=0.1",
]


@pytest.mark.parametrize("spec", ALL_WITH_STATE)
def test_float32_stays_float32_and_state_is_allocated_once(spec):
    opt = OPTIMIZERS.get(spec)
    p = P0.astype(np.float32)
    opt.setup(p, N_DECAY)
    ids = {k: id(v) for k, v in opt.state.items()}
    grads = [g.astype(np.float32) for g in GRADS]
    g_copy = [g.copy() for g in grads]
    for g, lr in zip(grads, LRS):
        opt.step(p, g, lr=lr)
    assert p.dtype == np.float32
    assert {k: id(v) for k, v in opt.state.items()} == ids
    assert all(v.dtype == np.float32 for v in opt.state.values())
    for g, c in zip(grads, g_copy):
        np.testing.assert_array_equal(g, c)  # step never writes to the gradients
    _, ref = run(spec)
    np.testing.assert_allclose(p, ref[-1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spec", ALL_WITH_STATE)
def test_step_allocates_nothing_proportional_to_size(spec):
    n = 100_000
    rng = np.random.default_rng(1)
    p = rng.normal(size=n).astype(np.float32)
    g = rng.normal(size=n).astype(np.float32)
    opt = OPTIMIZERS.get(spec)
    opt.setup(p, n // 2)
    opt.step(p, g, lr=0.01)
    tracemalloc.start()
    try:
        opt.step(p, g, lr=0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < n  # a single temporary would take 4·n bytes


@pytest.mark.parametrize("spec", ALL_WITH_STATE)
def test_state_dict_round_trip(spec):
    opt, _ = run(spec)
    saved = opt.state_dict()
    p = P0.copy()
    opt2 = OPTIMIZERS.get(spec)
    opt2.setup(p, N_DECAY)
    opt2.load_state_dict(saved)
    assert opt2.t == opt.t == 3
    p1, p2 = P0.copy(), P0.copy()
    opt.step(p1, GRADS[0], lr=0.01)
    opt2.step(p2, GRADS[0], lr=0.01)
    np.testing.assert_array_equal(p1, p2)
    # restoring an early snapshot rewinds the optimizer (as a learning-rate range test needs)
    fresh = OPTIMIZERS.get(spec)
    fresh.setup(P0.copy(), N_DECAY)
    start = fresh.state_dict()
    ids = {k: id(v) for k, v in opt.state.items()}
    opt.load_state_dict(start)
    assert opt.t == 0 and {k: id(v) for k, v in opt.state.items()} == ids
    _, again = run(spec)
    q = P0.copy()
    for g, lr in zip(GRADS, LRS):
        opt.step(q, g, lr=lr)
    np.testing.assert_allclose(q, again[-1], rtol=1e-14)


def test_state_dict_is_a_copy_and_checked():
    opt, _ = run("adam")
    saved = opt.state_dict()
    saved["exp_avg"][:] = 123.0
    assert not np.any(opt.state["exp_avg"] == 123.0)
    with pytest.raises(ConfigError, match="exp_avg_sq"):
        opt.load_state_dict({"t": 1, "exp_avg": np.zeros(4)})


def test_step_before_setup_and_wrong_size():
    opt = OPTIMIZERS.get("adam")
    with pytest.raises(TrainingError, match="setup"):
        opt.step(P0.copy(), GRADS[0])
    opt.setup(P0.copy(), 4)
    with pytest.raises(ConfigError, match="size 3"):
        opt.step(np.zeros(3), np.zeros(3))
    with pytest.raises(ConfigError, match="n_decay"):
        opt.setup(P0.copy(), 5)
    with pytest.raises(ConfigError, match="float16"):
        opt.setup(P0.astype(np.float16), 0)


# --- specs and validation ---------------------------------------------------------------------------

DEFAULTS = {
    "sgd": dict(lr=0.01, weight_decay=0.0),
    "momentum": dict(lr=0.01, momentum=0.9, dampening=0.0, weight_decay=0.0),
    "nesterov": dict(lr=0.01, momentum=0.9, weight_decay=0.0),
    "adagrad": dict(lr=0.01, eps=1e-10, initial_accumulator=0.0, weight_decay=0.0),
    "rmsprop": dict(lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0),
    "adadelta": dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0),
    "adam": dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False),
    "adamw": dict(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, amsgrad=False),
    "nadam": dict(lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=0.004, weight_decay=0.0),
}


def test_registry_names_and_pytorch_defaults():
    assert sorted(OPTIMIZERS.names()) == sorted(DEFAULTS)
    for name, cfg in DEFAULTS.items():
        assert OPTIMIZERS.get(name).get_config() == cfg


@pytest.mark.parametrize("spec", list(DEFAULTS) + ALL_WITH_STATE + ["adam:0.01,0.8", "sgd:lr=1"])
def test_spec_round_trip(spec):
    opt = OPTIMIZERS.get(spec)
    again = OPTIMIZERS.get(opt.spec())
    assert again == opt and again.spec() == opt.spec()


@pytest.mark.parametrize(
    "spec,message",
    [
        ("adam:lr=-0.1", "adam: lr=-0.1 is out of range; allowed: 0 <= lr"),
        ("sgd:weight_decay=-1e-4", "sgd: weight_decay=-0.0001 is out of range; allowed: 0 <= weight_decay"),
        ("momentum:momentum=1.0", "momentum: momentum=1.0 is out of range; allowed: 0 <= momentum < 1"),
        ("momentum:dampening=1.5", "allowed: 0 <= dampening <= 1"),
        ("nesterov:momentum=-0.1", "allowed: 0 <= momentum < 1"),
        ("adagrad:eps=0", "adagrad: eps=0.0 is out of range; allowed: 0 < eps"),
        ("adagrad:initial_accumulator=-1", "allowed: 0 <= initial_accumulator"),
        ("rmsprop:alpha=1.5", "rmsprop: alpha=1.5 is out of range; allowed: 0 <= alpha <= 1"),
        ("rmsprop:momentum=1", "allowed: 0 <= momentum < 1"),
        ("adadelta:rho=-0.5", "adadelta: rho=-0.5 is out of range; allowed: 0 <= rho <= 1"),
        ("adam:beta1=1", "adam: beta1=1.0 is out of range; allowed: 0 <= beta1 < 1"),
        ("adamw:beta2=1.2", "adamw: beta2=1.2 is out of range; allowed: 0 <= beta2 < 1"),
        ("nadam:momentum_decay=-1", "allowed: 0 <= momentum_decay"),
        ("adam:eps=-1e-8", "allowed: 0 < eps"),
        ("adam:amsgrad=maybe", "expected true or false"),
    ],
)
def test_bad_hyperparameters(spec, message):
    with pytest.raises(ConfigError) as info:
        OPTIMIZERS.get(spec)
    assert message in str(info.value)


# --- denormals --------------------------------------------------------------------------------------

x86_linux = platform.system() == "Linux" and platform.machine().lower() in ("x86_64", "amd64")


@pytest.mark.skipif(not x86_linux, reason="MXCSR flush-to-zero is set on x86-64 Linux only")
def test_flush_denormals_on_and_off():
    tiny = np.float32(1e-39)  # a float32 denormal
    try:
        assert flush_denormals(True) is True
        assert np.float32(tiny * np.float32(1.0)) == 0.0
    finally:
        assert flush_denormals(False) is True
    assert np.float32(tiny * np.float32(1.0)) != 0.0


def test_flush_denormals_is_safe_elsewhere(monkeypatch):
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert flush_denormals(True) is False
