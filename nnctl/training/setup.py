"""Compose a run from its configuration: data, model, loss, optimizer, schedule, regularizer.

Everything that can be wrong with a configuration fails here, before a single file is written or a
single step is taken: unknown components, bad hyperparameters, a model that does not fit the data,
a loss that does not fit the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.errors import ConfigError
from ..core.grammar import build_layers
from ..core.initializers import INITIALIZERS
from ..core.layers.activations import ACTIVATIONS
from ..core.losses import LOSSES, Loss, default_loss
from ..core.model import Model
from ..core.optimizers import OPTIMIZERS, Optimizer
from ..core.regularizers import make_regularizer
from ..core.schedules import SCHEDULES, Schedule
from ..data import Dataset, Splits, load_dataset, split_dataset
from .augmenting import BatchAugmenter
from .config import RunConfig
from .direction import effective_monitor, mode


@dataclass
class Prepared:
    """A run ready to train: the resolved config and every component built from it."""

    config: RunConfig
    dataset: Dataset
    splits: Splits
    model: Model
    loss: Loss
    optimizer: Optimizer
    schedule: Schedule
    regularizer: Any
    augment: Any
    rng_shuffle: np.random.Generator
    rng_augment: np.random.Generator
    monitor: str = "val_loss"  # the metric the run monitors (see direction.effective_monitor)
    diagnostics: Any = None  # the DiagnosticsCollector while a run with --diagnostics trains

    @property
    def n_outputs(self) -> int:
        return int(np.prod(self.model.output_shape))


def seed_streams(seed: int, n: int = 4) -> list[np.random.Generator]:
    """Independent generators derived from one seed: init, shuffle, augment, spare."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def prepare(cfg: RunConfig, dataset: Dataset | None = None) -> Prepared:
    """Load data, build components and return a :class:`Prepared` run with a resolved config."""
    if cfg.lr == "auto":
        raise ConfigError("lr=auto is only understood by 'nnctl train'; give a number, or run 'nnctl lr-find' first")
    task = None if cfg.task == "auto" else cfg.task
    if dataset is None:
        dataset = load_dataset(cfg.data, seed=cfg.seed, target=cfg.target, task=task)
    splits = split_dataset(
        dataset,
        val_split=cfg.val_split,
        test_split=cfg.test_split,
        seed=cfg.seed,
        standardize=cfg.standardize,
        train_size=cfg.train_size,
    )
    ACTIVATIONS.get(cfg.activation)  # validate early: a typo names the activation, not a layer
    if cfg.init != "auto":  # "auto" stays a rule: each layer's initializer is in the layer list
        INITIALIZERS.get(cfg.init)
    INITIALIZERS.get(cfg.bias_init)

    loss_spec = default_loss(dataset.task) if cfg.loss == "auto" else cfg.loss
    loss = LOSSES.get(loss_spec)
    if loss.task != dataset.task and not _probability_targets(loss, dataset):
        raise ConfigError(
            f"loss '{loss.name}' is for {loss.task} but dataset '{dataset.name}' is a {dataset.task} task; "
            f"use --loss {default_loss(dataset.task)}"
            + (" or --task classification" if loss.task == "classification" else "")
        )
    n_outputs = _n_outputs(dataset, loss)

    rng_init, rng_shuffle, rng_augment, _ = seed_streams(cfg.seed)
    layers = build_layers(
        cfg.model,
        n_outputs=n_outputs,
        activation=cfg.activation,
        init=cfg.init,
        bias_init=cfg.bias_init,
        dropout=cfg.dropout,
        input_dropout=cfg.input_dropout,
        batch_norm=cfg.batch_norm,
    )
    model = Model(layers).build(dataset.input_shape, rng_init, dtype=np.dtype(cfg.dtype))

    overrides = {} if cfg.lr is None else {"lr": cfg.lr}
    optimizer = OPTIMIZERS.get(cfg.optimizer)
    if overrides:
        optimizer = type(optimizer)(**{**optimizer.get_config(), **overrides})
    optimizer.setup(model.params, model.n_decay)
    monitor = effective_monitor(cfg.monitor, has_validation=len(splits.X_val) > 0, task=dataset.task)
    schedule = SCHEDULES.get(cfg.schedule).for_monitor(mode(monitor))
    regularizer = make_regularizer(cfg.l1, cfg.l2)

    augment = None
    if cfg.augment:
        from ..data.augment import parse_augmentations

        pipeline = parse_augmentations(cfg.augment)
        pipeline.check(dataset.input_shape)
        augment = BatchAugmenter(pipeline, dataset.task, dataset.n_classes, np.dtype(cfg.dtype))

    resolved = cfg.replace(
        loss=loss.spec(),
        optimizer=optimizer.spec(),
        lr=float(optimizer.lr),
        schedule=schedule.spec(),
        task=dataset.task,
        augment=augment.spec() if augment is not None else None,
    )
    return Prepared(
        resolved,
        dataset,
        splits,
        model,
        loss,
        optimizer,
        schedule,
        regularizer,
        augment,
        rng_shuffle,
        rng_augment,
        monitor=monitor,
    )


def _probability_targets(loss: Loss, dataset: Dataset) -> bool:
    """Binary cross-entropy also fits regression targets in [0, 1] (Nielsen's sigmoid neuron, y = 0)."""
    y = dataset.y
    return (
        loss.name == "binary_cross_entropy"
        and dataset.task == "regression"
        and (y.ndim == 1 or y.shape[1] == 1)
        and bool(np.all((y >= 0) & (y <= 1)))
    )


def _n_outputs(dataset: Dataset, loss: Loss) -> int:
    if dataset.task == "classification":
        if loss.name == "binary_cross_entropy":
            if dataset.n_classes != 2:
                raise ConfigError(
                    f"binary_cross_entropy needs 2 classes; dataset '{dataset.name}' has {dataset.n_classes}; "
                    "use cross_entropy"
                )
            return 1
        return dataset.n_classes
    y = dataset.y
    return 1 if y.ndim == 1 else int(y.shape[1])
