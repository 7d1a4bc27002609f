"""The learning-rate range test (Smith 2015, "Cyclical Learning Rates"; fastai's ``lr_find``).

Train for a few minibatch steps while the learning rate grows exponentially,

    lr_i = start · (end / start)^(i / iters),   i = 0 … iters−1,

and record the loss at each rate. Too small a rate barely moves the loss; a good one makes it fall
fast; too large a one makes it explode. The raw minibatch loss is noisy, so it is smoothed with an
exponential moving average, debiased like Adam's moments (the average starts at 0):

    avg_i = β·avg_{i−1} + (1−β)·loss_i,   smoothed_i = avg_i / (1 − β^(i+1)),   β = 0.98.

The test stops early once the smoothed loss exceeds 4× its minimum (or becomes NaN): the rate is
then far past useful. Suggestions are read from the smoothed curve without its first tenth and its
last 5 points (fastai's window), cut at the first non-finite value:

* **steep** — the rate where d loss / d log(lr) is most negative (steepest descent);
* **minimum** — the rate at the lowest loss, divided by 10 (one decade before the loss turns up);
* **valley** — on the longest decreasing subsequence of the curve, the point about half-way down
  (start + ⌊len/3⌋ + ⌊len/6⌋).

fastai recommends **valley** (its default since v2.5): a rate inside the longest descent, well
below the blow-up, robust to the noise that makes **steep** (a one-point derivative of a noisy
curve) unreliable. nnctl reports all three but recommends **minimum** (÷10), on measurement: for
runs trained from scratch at a constant rate for 20 epochs (digits at batch 32 and 128, wine,
breast_cancer, moons, spiral; SGD, momentum and Adam; 3–5 seeds each: 18 settings), minimum/10
came within 0.01 of the best suggestion's mean validation accuracy in 17 settings and never
diverged; valley was 5–10× lower and undertrained (digits with SGD: 0.95 vs 0.97; spiral with
momentum: 0.61 vs 0.94); steep landed on the flat, noisy start or past the blow-up (Adam on digits
picked lr ≈ 1–2 and stayed at chance in 3 of 5 seeds). The smoothed curve lags the raw loss, so
its minimum sits a little past the true one; dividing by 10 steps back into the stable region. valley
suits fastai's setting (one-cycle schedules that warm up and anneal, fine-tuning); a conservative
rate costs more in a short constant-rate run.

Nothing the test does is seen by a later run: parameters, batch-norm buffers, optimizer state and
every random generator of the run are saved first and restored afterwards, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.errors import TrainingError
from ..core.registry import check_int, check_range
from .config import RunConfig
from .loop import TrainStep, batch_size_for
from .setup import Prepared, prepare

SUGGESTIONS = ("valley", "steep", "minimum")
#: the test's defaults (fastai's): rates from START towards END over ITERS steps, the smoothing
#: factor of the loss and the stop rule (smoothed loss above STOP_FACTOR × its minimum)
START, END, ITERS, BETA, STOP_FACTOR = 1e-7, 10.0, 100, 0.98, 4.0
RECOMMENDED = "minimum"


def why_recommended(stats: dict[str, dict[str, float]]) -> str:
    """Why ``minimum`` is recommended, with this test's own numbers (geometric means over seeds)."""
    m, v, st = (stats[name]["geomean"] for name in ("minimum", "valley", "steep"))
    if v < m:
        valley = f"{m / v:.2g}× lower here" if m / v >= 1.05 else "about the same here"
    else:
        valley = f"{v / m:.2g}× higher here" if v / m >= 1.05 else "about the same here"
    return (
        f"minimum/10 ({m:.3g}) steps one decade back from where the smoothed loss bottoms out: the fastest rate "
        f"that is still stable, and what trained best in short constant-rate runs when measured; valley "
        f"(fastai's default, {v:.3g}) is {valley}; steep ({st:.3g}) is a one-point derivative of a noisy curve"
    )


@dataclass
class RangeTest:
    """One range test: the rates tried, the raw and smoothed losses, and the suggestions."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stop_reason: str
    suggestions: dict[str, float] = field(default_factory=dict)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (lr, loss) to mark
    seed: int = 0
    config: dict[str, Any] = field(default_factory=dict)  # the resolved configuration tested

    @property
    def steps(self) -> int:
        return len(self.lrs)

    def rows(self) -> list[dict[str, Any]]:
        """CSV rows: step, lr, loss, smoothed_loss."""
        return [
            {"step": i, "lr": float(lr), "loss": float(loss), "smoothed_loss": float(s)}
            for i, (lr, loss, s) in enumerate(zip(self.lrs, self.losses, self.smoothed))
        ]


# --- the pure parts ------------------------------------------------------------------------------


def lr_schedule(start: float, end: float, iters: int) -> np.ndarray:
    """lr_i = start·(end/start)^(i/iters) for i = 0 … iters−1 (fastai's SchedExp)."""
    return start * (end / start) ** (np.arange(iters) / iters)


def smooth(losses: np.ndarray, beta: float = 0.98) -> np.ndarray:
    """Debiased exponential moving average: avg_i / (1 − β^(i+1)), avg_{−1} = 0."""
    losses = np.asarray(losses, dtype=np.float64)
    out = np.empty_like(losses)
    avg = 0.0
    for i, value in enumerate(losses):  # a recurrence over steps (≤ iters), not over samples
        avg = beta * avg + (1.0 - beta) * value
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


def suggest(
    lrs: np.ndarray, smoothed: np.ndarray, iters: int
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """steep, minimum and valley suggestions (fastai's rules) and the (lr, loss) points to mark.

    Raises TrainingError when the usable window is too short to read anything from.
    """
    lrs = np.asarray(lrs, dtype=np.float64)[iters // 10 : -5]
    losses = np.asarray(smoothed, dtype=np.float64)[iters // 10 : -5]
    bad = np.flatnonzero(~np.isfinite(losses))
    if len(bad):
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    if len(losses) < 3:
        raise TrainingError(
            f"the range test kept only {len(losses)} usable points (it needs at least 3 after dropping the "
            f"first {iters // 10} and the last 5); the loss diverged too early: lower --start or raise --iters"
        )
    # steep: the most negative slope of loss against log(lr), at the left point of the step
    slopes = np.diff(losses) / np.diff(np.log(lrs))
    i_steep = int(np.argmin(slopes))
    # minimum: one decade before the lowest loss
    i_min = int(np.argmin(losses))
    # valley: longest strictly decreasing subsequence ending at each point (vectorized over the past)
    n = len(losses)
    lds = np.ones(n, dtype=int)
    for i in range(1, n):
        higher = losses[:i] > losses[i]
        if higher.any():
            lds[i] = lds[:i][higher].max() + 1
    max_end = int(np.argmax(lds))  # first index with the longest run, as in fastai
    max_start = max_end - int(lds[max_end])
    section = (max_end - max_start) / 3
    i_valley = min(max(max_start + int(section) + int(section / 2), 0), n - 1)
    suggestions = {
        "valley": float(lrs[i_valley]),
        "steep": float(lrs[i_steep]),
        "minimum": float(lrs[i_min] / 10.0),
    }
    points = {
        "valley": (float(lrs[i_valley]), float(losses[i_valley])),
        "steep": (float(lrs[i_steep]), float(losses[i_steep])),
        "minimum": (float(lrs[i_min] / 10.0), float(np.interp(np.log(lrs[i_min] / 10.0), np.log(lrs), losses))),
    }
    return suggestions, points


def spread(values: list[float]) -> dict[str, float]:
    """Summary of one suggestion over repeats: min, median, max, geometric mean and its × / ÷ factor.

    Learning rates vary on a log scale, so the natural centre is the geometric mean exp(mean(log lr))
    and the natural spread the factor exp(std(log lr)): 68% of seeds fall within mean ×/÷ factor.
    """
    v = np.asarray(values, dtype=np.float64)
    logs = np.log(v)
    return {
        "min": float(v.min()),
        "median": float(np.median(v)),
        "max": float(v.max()),
        "geomean": float(np.exp(logs.mean())),
        "factor": float(np.exp(logs.std(ddof=1))) if len(v) > 1 else 1.0,
        "n": len(v),
    }


def round_lr(lr: float, digits: int = 3) -> float:
    """A rate rounded to ``digits`` significant figures (the test is far noisier than that)."""
    if lr <= 0 or not math.isfinite(lr):
        return lr
    return float(f"{lr:.{digits}g}")


# --- running the test ----------------------------------------------------------------------------


def _generators(run: Prepared) -> list[np.random.Generator]:
    gens = [run.rng_shuffle, run.rng_augment] + [getattr(l, "rng", None) for l in run.model.iter_layers()]
    unique: dict[int, np.random.Generator] = {}
    for g in gens:
        if isinstance(g, np.random.Generator):
            unique.setdefault(id(g), g)
    return list(unique.values())


def range_test(
    run: Prepared,
    start: float = START,
    end: float = END,
    iters: int = ITERS,
    beta: float = BETA,
    stop_factor: float = STOP_FACTOR,
    on_step: Callable[[int, float, float], None] | None = None,
) -> RangeTest:
    """Run the range test on a prepared run and restore it exactly; returns a :class:`RangeTest`.

    Each step is the fit loop's :class:`~nnctl.training.loop.TrainStep` (augment, forward, loss,
    backward, regularizer gradient, clipping, optimizer update) at rate lr_i, on shuffled
    minibatches of the training split; the loss recorded is the one measured before the update.
    ``on_step(i, lr, smoothed_loss)``, when given, is called after every step (a progress display).
    """
    check_range("lr-find", "start", start, 0.0, low_inclusive=False)
    check_range("lr-find", "end", end, start, low_inclusive=False)
    check_range("lr-find", "beta", beta, 0.0, 1.0, high_inclusive=False)
    check_range("lr-find", "stop_factor", stop_factor, 1.0, low_inclusive=False)
    iters = check_int("lr-find", "iters", iters, 10)
    model, opt, cfg = run.model, run.optimizer, run.config
    model.check_trainable()
    saved_model = model.state_dict()
    saved_grads = model.grads.copy()
    saved_opt = opt.state_dict()
    gens = _generators(run)
    saved_gens = [g.bit_generator.state for g in gens]
    try:
        lrs, losses, reason = _steps(run, lr_schedule(start, end, iters), beta, stop_factor, on_step)
    finally:
        model.load_state_dict(saved_model)
        model.grads[...] = saved_grads
        opt.load_state_dict(saved_opt)
        for g, state in zip(gens, saved_gens):
            g.bit_generator.state = state
    smoothed = smooth(losses, beta)
    suggestions, points = suggest(lrs, smoothed, iters)
    return RangeTest(lrs, losses, smoothed, reason, suggestions, points, seed=cfg.seed, config=cfg.to_dict())


def _steps(run: Prepared, schedule: np.ndarray, beta: float, stop_factor: float, on_step=None):
    n = len(run.splits.X_train)
    batch = batch_size_for(run.config.batch_size, n)
    step = TrainStep(run, batch)
    lrs, losses = [], []
    avg, best = 0.0, math.inf
    reason = f"completed {len(schedule)} steps"
    order, pos = np.empty(0, dtype=np.intp), 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for i, lr in enumerate(schedule):
            if pos + batch > len(order):  # a new epoch: reshuffle, as the fit loop does
                order, pos = run.rng_shuffle.permutation(n), 0
            value, _ = step(order[pos : pos + batch], float(lr))  # loss before this step's update
            pos += batch
            lrs.append(float(lr))
            losses.append(float(value))
            avg = beta * avg + (1.0 - beta) * value
            smoothed = avg / (1.0 - beta ** (i + 1))
            if not math.isfinite(smoothed):
                reason = f"loss became {value} at step {i} (lr {lr:.3g})"
                break
            best = min(best, smoothed)
            if on_step is not None:
                on_step(i, float(lr), float(smoothed))
            if smoothed > stop_factor * best:
                reason = f"smoothed loss exceeded {stop_factor:g}x its minimum at step {i} (lr {lr:.3g})"
                break
    return np.asarray(lrs), np.asarray(losses), reason


def with_lr(run: Prepared, lr: float) -> Prepared:
    """The same prepared run with a fresh optimizer of the same kind at rate ``lr`` (config updated)."""
    opt = type(run.optimizer)(**{**run.optimizer.get_config(), "lr": float(lr)})
    opt.setup(run.model.params, run.model.n_decay)
    run.optimizer = opt
    run.config = run.config.replace(lr=float(lr), optimizer=opt.spec())
    return run


def find_lr(
    cfg: RunConfig,
    repeats: int = 1,
    on_step: Callable[[int, int, float, float], None] | None = None,
    **test_options: Any,
) -> tuple[list[RangeTest], dict[str, dict[str, float]], float]:
    """Range tests for seeds cfg.seed … cfg.seed+repeats−1; returns (tests, spread per suggestion, rate).

    The recommended rate is the ``RECOMMENDED`` suggestion (its geometric mean over repeats),
    rounded to 3 significant figures. ``cfg.lr`` is ignored: the test sets the rate at every step.
    ``on_step(repeat, i, lr, smoothed_loss)`` follows every step of every repeat.
    """
    repeats = check_int("lr-find", "repeats", repeats, 1)
    base = cfg.replace(lr=None) if cfg.lr == "auto" else cfg
    tests, dataset = [], None
    for k in range(repeats):
        run = prepare(base.replace(seed=base.seed + k), dataset=dataset)
        dataset = run.dataset
        step = None if on_step is None else (lambda i, lr, loss, k=k: on_step(k, i, lr, loss))
        tests.append(range_test(run, on_step=step, **test_options))
    stats = {name: spread([t.suggestions[name] for t in tests]) for name in SUGGESTIONS}
    return tests, stats, round_lr(stats[RECOMMENDED]["geomean"])


def auto_lr(cfg: RunConfig, **test_options: Any) -> tuple[Prepared, RangeTest, float]:
    """``--lr auto``: prepare the run, range-test it (restoring it), and set the recommended rate."""
    run = prepare(cfg.replace(lr=None) if cfg.lr == "auto" else cfg)
    test = range_test(run, **test_options)
    lr = round_lr(test.suggestions[RECOMMENDED])
    return with_lr(run, lr), test, lr


def summary(test: RangeTest, chosen: float) -> dict[str, Any]:
    """The ``lr_find`` section of a run's config.json."""
    return {
        "suggestions": dict(test.suggestions),
        "recommended": RECOMMENDED,
        "chosen": chosen,
        "steps": test.steps,
        "stop_reason": test.stop_reason,
    }
