"""A finished run, loaded to be applied: its model with the returned weights, its loss, and the
preprocessing fitted on its training split (``preprocessing.json``).

Everything comes from files written as data — config.json (the layer list), weights.npz (read
with ``allow_pickle=False``) and preprocessing.json — so a model can be used anywhere nnctl is
installed, and nothing in a run directory is ever executed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import DataError, NnctlError
from ..core.losses import LOSSES, Loss
from ..core.model import Model
from ..data.inputs import Expected, check_shape
from ..data.split import Standardizer
from .runs import PREPROCESSING
from .store import read_json, read_weights


@dataclass
class TrainedRun:
    """A run's model ready to predict, and what its inputs must look like."""

    path: Path
    config: dict[str, Any]  # the run's resolved options
    model: Model
    loss: Loss
    task: str
    input_shape: tuple[int, ...]
    classes: list[str]
    feature_names: list[str] | None
    target: str | None
    standardizer: Standardizer | None

    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Raw inputs as the model was trained on them: float32, standardized with the training
        split's statistics."""
        X = np.asarray(X, dtype=np.float32)
        check_shape("X", X, self.expected())
        return self.standardizer.transform(X) if self.standardizer is not None else X

    def expected(self) -> Expected:
        """What this run's inputs must look like."""
        return Expected(self.input_shape, self.task, self.classes, self.feature_names, self.target)

    def logits(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The model's outputs for raw inputs ``X`` (evaluation mode)."""
        return self.model.predict(self.prepare(X), batch_size=batch_size)


def load_trained(path: str | os.PathLike) -> TrainedRun:
    """Load the run directory at ``path``; a file that is missing or damaged is a one-line error."""
    path = Path(path)
    for name in ("config.json", "weights.npz", PREPROCESSING):
        if not (path / name).is_file():
            why = "the run did not finish" if name == "weights.npz" else "it was written by an older nnctl"
            raise DataError(f"'{path}' has no {name}, so its model cannot be applied ({why}); train it again")
    doc, pre = read_json(path / "config.json"), read_json(path / PREPROCESSING)
    try:
        cfg = doc["config"]
        shape = tuple(int(d) for d in pre["input_shape"])
        model = Model.from_config(doc["layers"]).build(shape, np.random.default_rng(0), dtype=np.dtype(cfg["dtype"]))
        model.load_state_dict(read_weights(path / "weights.npz"))
        loss = LOSSES.get(cfg["loss"])
        scaler = Standardizer.from_dict(pre["standardize"]) if pre.get("standardize") else None
        return TrainedRun(
            path=path,
            config=cfg,
            model=model,
            loss=loss,
            task=pre["task"],
            input_shape=shape,
            classes=[str(c) for c in pre.get("classes") or []],
            feature_names=pre.get("feature_names"),
            target=pre.get("target"),
            standardizer=scaler,
        )
    except NnctlError as exc:
        raise DataError(f"'{path}': its files do not rebuild its model: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"'{path}': config.json or {PREPROCESSING} is damaged ({type(exc).__name__}: {exc})") from None
