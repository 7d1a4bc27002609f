"""The learning-rate range test: formulas (vs a direct port of fastai's rules), restoring, CLI, --lr auto."""

import json
import math

import numpy as np
import pandas as pd
import pytest
from helpers import invoke

from nnctl.core.errors import ConfigError, TrainingError
from nnctl.training import RunConfig, fit, prepare
from nnctl.training.lr_find import (
    RECOMMENDED,
    find_lr,
    lr_schedule,
    range_test,
    round_lr,
    smooth,
    spread,
    suggest,
    with_lr,
)

SMALL = dict(model="mlp:16", epochs=2)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- reference: fastai's suggestion functions, written as in fastai (plain Python loops) ----------


def fastai_suggestions(lrs, losses, num_it):
    lrs, losses = list(lrs[num_it // 10 : -5]), list(losses[num_it // 10 : -5])
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    valley = lrs[max_start + int(sections) + int(sections / 2)]
    minimum = lrs[int(np.argmin(losses))] / 10
    grads = [(losses[i + 1] - losses[i]) / (math.log(lrs[i + 1]) - math.log(lrs[i])) for i in range(n - 1)]
    steep = lrs[int(np.argmin(grads))]
    return {"valley": valley, "minimum": minimum, "steep": steep}


def test_schedule_is_exponential_from_start_towards_end():
    lrs = lr_schedule(1e-7, 10.0, 100)
    assert len(lrs) == 100 and lrs[0] == pytest.approx(1e-7)
    np.testing.assert_allclose(lrs, [1e-7 * (10 / 1e-7) ** (i / 100) for i in range(100)], rtol=1e-12)
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-10)
    assert lrs[-1] < 10.0


def test_smoothing_is_a_debiased_ema():
    losses = np.array([3.0, 1.0, 2.0, 5.0])
    avg, expected = 0.0, []
    for i, v in enumerate(losses):
        avg = 0.98 * avg + 0.02 * v
        expected.append(avg / (1 - 0.98 ** (i + 1)))
    np.testing.assert_allclose(smooth(losses), expected)
    np.testing.assert_allclose(smooth(np.full(50, 2.5)), 2.5)  # debiasing: a constant stays constant
    assert smooth(losses)[0] == 3.0


@pytest.mark.parametrize("seed", range(6))
def test_suggestions_match_fastai_rules(seed):
    rng = np.random.default_rng(seed)
    lrs = lr_schedule(1e-7, 10.0, 100)
    x = np.log10(lrs)
    curve = 2.3 - 1.5 / (1 + np.exp(-(x + 2) * 2)) + 3 * np.exp(3 * (x - 0.8)) + rng.normal(0, 0.05, 100)
    losses = smooth(curve)
    got, points = suggest(lrs, losses, 100)
    want = fastai_suggestions(lrs, losses, 100)
    assert got == pytest.approx(want, rel=1e-12)
    assert set(points) == {"valley", "steep", "minimum"}


def test_suggestions_drop_nan_tail_and_refuse_too_short_curves():
    lrs = lr_schedule(1e-7, 10.0, 100)
    losses = smooth(np.linspace(3, 1, 100))
    losses[60:] = np.nan
    got, _ = suggest(lrs, losses, 100)
    assert all(v <= lrs[59] for v in got.values())
    with pytest.raises(TrainingError, match="usable points"):
        suggest(lrs[:15], losses[:15], 100)


def test_spread_and_rounding():
    s = spread([0.01, 0.1, 1.0])
    assert s["min"] == 0.01 and s["max"] == 1.0 and s["median"] == 0.1
    assert s["geomean"] == pytest.approx(0.1)
    assert s["factor"] == pytest.approx(10.0)
    assert spread([0.2])["factor"] == 1.0
    assert round_lr(0.0363078054770101) == 0.0363


def _state(run):
    gens = [run.rng_shuffle, run.rng_augment, run.model.layers[0].rng]
    return (run.model.state_dict(), run.optimizer.state_dict(), [g.bit_generator.state for g in gens])


def test_range_test_restores_everything_bit_for_bit():
    cfg = RunConfig(
        model="mlp:32,16",
        dropout=0.2,
        batch_norm=True,
        optimizer="momentum:momentum=0.9",
        augment=None,
        epochs=2,
        l2=1e-4,
        clip_norm=5.0,
    )
    run = prepare(cfg)
    before = _state(run)
    test = range_test(run, iters=60)
    after = _state(run)
    assert test.steps >= 20
    for key, value in before[0].items():
        assert after[0][key].tobytes() == value.tobytes(), key
    for key, value in before[1].items():
        assert np.array_equal(after[1][key], value), key
    assert after[2] == before[2]
    # the later run is the run that never saw the test
    a = fit(run)
    b = fit(prepare(cfg))
    assert [r["val_loss"] for r in a.curve] == [r["val_loss"] for r in b.curve]


def test_range_test_stops_when_the_loss_explodes():
    test = range_test(prepare(RunConfig(optimizer="sgd", **SMALL)), start=1e-4, end=1e4, iters=100)
    assert test.steps < 100
    assert "exceeded 4x" in test.stop_reason or "became" in test.stop_reason
    assert np.nanmin(test.smoothed) * 4 < test.smoothed[-1] or not np.isfinite(test.smoothed[-1])


def test_bad_options_are_config_errors():
    run = prepare(RunConfig(**SMALL))
    with pytest.raises(ConfigError, match="iters"):
        range_test(run, iters=5)
    with pytest.raises(ConfigError, match="end"):
        range_test(run, start=1.0, end=0.5)
    with pytest.raises(ConfigError, match="repeats"):
        find_lr(RunConfig(**SMALL), repeats=0)


def test_suggested_rate_trains_digits_sgd_to_95_percent():
    cfg = RunConfig(data="digits", optimizer="sgd", epochs=20, seed=0)
    tests, stats, lr = find_lr(cfg, repeats=3)
    assert lr == round_lr(stats[RECOMMENDED]["geomean"])
    assert stats[RECOMMENDED]["min"] <= lr <= stats[RECOMMENDED]["max"]
    result = fit(with_lr(prepare(cfg), lr))
    assert result.status == "completed"
    assert result.final["val_acc"] >= 0.95


def test_cli_writes_csv_json_and_png(tmp_path):
    res = invoke(
        "lr-find",
        "--results-dir",
        tmp_path,
        "--model",
        "mlp:16",
        "--optimizer",
        "sgd",
        "--iters",
        "60",
        "--repeats",
        "2",
    )
    assert f"recommended: {RECOMMENDED}" in res.output and "why:" in res.output
    (run_dir,) = list(tmp_path.iterdir())
    csv = pd.read_csv(run_dir / "lr_find.csv")
    assert list(csv.columns) == ["repeat", "step", "lr", "loss", "smoothed_loss"]
    assert set(csv["repeat"]) == {0, 1}
    doc = json.loads((run_dir / "lr_find.json").read_text())
    assert doc["recommended"] == RECOMMENDED and doc["config"]["optimizer"].startswith("sgd")
    assert set(doc["spread"]) == {"valley", "steep", "minimum"}
    png = run_dir / "lr_find.png"
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    import matplotlib.image

    assert matplotlib.image.imread(str(png)).shape[:2] == (500, 800)
    assert not (run_dir / "config.json").exists()  # not a training run: compare-runs skips it


def test_cli_single_test_csv_has_no_repeat_column(tmp_path):
    res = invoke("lr-find", "--results-dir", tmp_path, "--model", "mlp:16", "--quiet")
    assert float(res.output.strip()) > 0
    (run_dir,) = list(tmp_path.iterdir())
    assert list(pd.read_csv(run_dir / "lr_find.csv").columns) == ["step", "lr", "loss", "smoothed_loss"]


def test_train_lr_auto_records_the_choice_and_replays(tmp_path):
    args = ["--model", "mlp:16", "--optimizer", "sgd", "--epochs", "2", "--quiet"]
    invoke("train", "--results-dir", tmp_path / "a", "--lr", "auto", *args)
    (run_dir,) = list((tmp_path / "a").iterdir())
    doc = json.loads((run_dir / "config.json").read_text())
    lr = doc["config"]["lr"]
    assert isinstance(lr, float) and lr == doc["lr_find"]["chosen"]
    assert lr == round_lr(doc["lr_find"]["suggestions"][RECOMMENDED])
    assert doc["config"]["optimizer"].startswith(f"sgd:lr={lr:g}")
    assert (run_dir / "lr_find.csv").is_file()
    # training after the test is exactly training at that rate from scratch
    invoke("train", "--results-dir", tmp_path / "b", "--lr", lr, *args)
    (other,) = list((tmp_path / "b").iterdir())
    a, b = pd.read_csv(run_dir / "curve.csv"), pd.read_csv(other / "curve.csv")
    assert a["val_loss"].tolist() == b["val_loss"].tolist()


def test_config_accepts_auto_and_rejects_words():
    assert RunConfig.from_dict({"lr": "auto"}).lr == "auto"
    assert RunConfig.from_dict({"lr": "0.5"}).lr == 0.5
    with pytest.raises(ConfigError, match="'auto'"):
        RunConfig.from_dict({"lr": "fast"})


def test_the_explanation_quotes_this_tests_own_suggestions():
    """It used to say valley is '5-10x lower' right after printing valley 0.0191 vs minimum 0.0363."""
    from nnctl.training.lr_find import why_recommended

    def stats(**lrs):
        return {k: {"geomean": v} for k, v in lrs.items()}

    text = why_recommended(stats(minimum=0.0363, valley=0.0191, steep=0.01))
    assert "0.0363" in text and "0.0191" in text and "1.9× lower here" in text and "5-10" not in text
    assert "1.5× higher here" in why_recommended(stats(minimum=0.01, valley=0.015, steep=0.02))
    assert "about the same here" in why_recommended(stats(minimum=0.01, valley=0.0101, steep=0.02))
