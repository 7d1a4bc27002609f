"""Augmentation in training runs (mixup included) and the augment-preview command."""

import numpy as np
import pytest
from helpers import invoke

from nnctl.training import RunConfig, fit, prepare


def test_augmentation_changes_training_but_not_evaluation():
    plain = prepare(RunConfig(model="mlp:16", epochs=2, seed=0))
    augmented = prepare(RunConfig(model="mlp:16", epochs=2, seed=0, augment="shift:1"))
    np.testing.assert_array_equal(plain.model.params, augmented.model.params)  # same start
    a, b = fit(plain), fit(augmented)
    assert a.curve[0]["val_loss"] == b.curve[0]["val_loss"]  # epoch 0: evaluation sees no augmentation
    assert a.curve[1]["train_loss"] != b.curve[1]["train_loss"]
    assert augmented.config.augment == "shift:pixels=1"


def test_augmented_runs_are_deterministic():
    def curve():
        return [
            r["train_loss"]
            for r in fit(prepare(RunConfig(model="mlp:16", epochs=2, augment="rotate:10,noise:std=0.1"))).curve
        ]

    assert curve() == curve()


@pytest.mark.parametrize("data", ["digits", "wine", "sine:n=200"])
def test_mixup_trains_classification_and_regression(data):
    run = prepare(RunConfig(data=data, model="mlp:16", epochs=3, augment="mixup:alpha=0.4"))
    result = fit(run)
    assert result.status == "completed"
    assert np.isfinite(result.final["test_loss"])


def test_image_augmentation_on_tabular_data_is_a_clear_error(tmp_path):
    result = invoke("train", "--data", "iris", "--augment", "rotate:10", "--results-dir", tmp_path, expect=2)
    assert result.stderr.strip() == (
        "error: augmentation 'rotate' needs image data (C, H, W); got tabular input shape (4,) — "
        "tabular data allows: noise, mixup"
    )
    assert not any(tmp_path.iterdir())


def test_augment_preview_writes_a_png_grid(tmp_path):
    out = tmp_path / "grid.png"
    invoke("augment-preview", "--augment", "shift:2,rotate:15", "--out", out, "--samples", "3", "--draws", "4")
    import matplotlib.image as mpimg

    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(out)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 200


def test_augment_preview_rejects_tabular_data(tmp_path):
    result = invoke("augment-preview", "--augment", "noise", "--data", "iris", "--out", tmp_path / "g.png", expect=2)
    assert "needs image data" in result.stderr and "\n" not in result.stderr.strip()
