"""Each compiled kernel against the NumPy path it replaces, piece by piece and in whole steps.

Usage: python experiments/benchmarks/kernels_ab.py [--threads 1 2] [--repeats 15] [--smoke]

Every piece runs through nnctl's public objects (a layer's forward/backward, a loss, an
optimizer's step) on the benchmark's shapes, once with the kernels and once with the NumPy path
(``nnctl.core.kernels.use``), alternating, and reports the median time of each. The whole-step rows
time :class:`nnctl.training.loop.TrainStep` the same way. Threads are set as a run sets them
(BLAS and kernels). On a shared machine compare the two columns of one row, not rows of two runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import CNN_SPEC, nnctl_runner, synthetic  # noqa: E402

from nnctl.core import kernels  # noqa: E402
from nnctl.core.layers.activations import ACTIVATIONS  # noqa: E402
from nnctl.core.layers.base import BuildContext  # noqa: E402
from nnctl.core.layers.conv import Conv2D  # noqa: E402
from nnctl.core.layers.dense import Dense  # noqa: E402
from nnctl.core.layers.pooling import MaxPool2D  # noqa: E402
from nnctl.core.losses import LOSSES  # noqa: E402
from nnctl.core.model import Model  # noqa: E402
from nnctl.core.optimizers import OPTIMIZERS, flush_denormals  # noqa: E402
from nnctl.training.threads import run_threads  # noqa: E402

MLP_PARAMS = 784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10  # 535,818


def ab(make, repeats: int, inner: int) -> tuple[float, float]:
    """Median seconds per call of the function ``make(enabled)`` returns, kernels vs NumPy path."""
    fns = {}
    for enabled in (True, False):
        with kernels.use(enabled):
            fns[enabled] = make(enabled)
            fns[enabled]()
    times: dict[bool, list[float]] = {True: [], False: []}
    for r in range(repeats):
        for enabled in (True, False) if r % 2 else (False, True):
            with kernels.use(enabled):
                t = time.perf_counter()
                for _ in range(inner):
                    fns[enabled]()
                times[enabled].append((time.perf_counter() - t) / inner)
    return statistics.median(times[True]), statistics.median(times[False])


def optimizer_piece(spec: str, n: int):
    def make(enabled):
        rng = np.random.default_rng(0)
        p = rng.standard_normal(n, dtype=np.float32)
        g = rng.standard_normal(n, dtype=np.float32)
        opt = OPTIMIZERS.get(spec)
        opt.setup(p, n - 1000)
        return lambda: opt.step(p, g, 0.001)

    return make


def layer_piece(layer_factory, shape, batch, backward: bool, channel_major: bool = False):
    def make(enabled):
        rng = np.random.default_rng(0)
        layer = layer_factory()
        model = Model([ACTIVATIONS.get("linear"), layer]).build(shape, np.random.default_rng(0))
        x = rng.standard_normal((batch, *shape), dtype=np.float32)
        if channel_major:
            x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        y = model.forward(x, training=True)
        dy = np.empty_like(y)
        dy[...] = rng.standard_normal(y.shape, dtype=np.float32)
        if not backward:
            return lambda: layer.forward(x, training=True)
        return lambda: layer.backward(dy)

    return make


def activation_piece(spec, shape, backward: bool, channel_major: bool = False):
    def make(enabled):
        rng = np.random.default_rng(0)
        layer = ACTIVATIONS.get(spec)
        layer.build(shape[1:], BuildContext(rng=rng))
        x = rng.standard_normal(shape, dtype=np.float32)
        if channel_major:
            x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
        y = layer.forward(x, training=True)
        dy = np.empty_like(y)
        dy[...] = rng.standard_normal(y.shape, dtype=np.float32)
        return (lambda: layer.backward(dy)) if backward else (lambda: layer.forward(x, training=True))

    return make


def loss_piece(n: int):
    def make(enabled):
        rng = np.random.default_rng(0)
        z = rng.standard_normal((n, 10), dtype=np.float32)
        y = rng.integers(0, 10, n)
        loss = LOSSES.get("cross_entropy")
        return lambda: loss.value_and_grad(z, y)

    return make


def step_piece(spec, optimizer, batch, X, y):
    def make(enabled):
        run, _ = nnctl_runner(spec, optimizer, X, y, batch)
        return lambda: run(1)

    return make


def pieces(args):
    X, y = synthetic(args.samples, (784,))
    Xc, yc = synthetic(args.samples // 4, (1, 28, 28), seed=2)
    mom, adam = "momentum:momentum=0.9", "adam"
    n = MLP_PARAMS
    yield "optimizer: SGD+momentum, 535,818 parameters", optimizer_piece(mom, n), 20
    yield "optimizer: Adam, 535,818 parameters", optimizer_piece(adam, n), 20
    for b in args.batches:
        yield f"dense 784→512 forward (bias), batch {b}", layer_piece(lambda: Dense(512), (784,), b, False), 20
        yield f"dense 784→512 backward (bias gradient), batch {b}", layer_piece(lambda: Dense(512), (784,), b, True), 20
        yield f"ReLU forward ({b}, 512)", activation_piece("relu", (b, 512), False), 50
        yield f"ReLU backward ({b}, 512)", activation_piece("relu", (b, 512), True), 50
        yield f"softmax cross-entropy ({b}, 10)", loss_piece(b), 50
    cnn_shape = (64, 16, 28, 28)
    yield "ReLU forward (64, 16, 28, 28), channel-major", activation_piece("relu", cnn_shape, False, True), 5
    yield "ReLU backward (64, 16, 28, 28), channel-major", activation_piece("relu", cnn_shape, True, True), 5
    yield "conv 1→16 3×3 forward, batch 64", layer_piece(lambda: Conv2D(16, 3), (1, 28, 28), 64, False), 5
    yield "conv 1→16 3×3 backward, batch 64", layer_piece(lambda: Conv2D(16, 3), (1, 28, 28), 64, True), 5
    yield (
        "conv 16→32 3×3 forward, batch 64",
        layer_piece(lambda: Conv2D(32, 3), (16, 14, 14), 64, False, channel_major=True),
        5,
    )
    yield (
        "conv 16→32 3×3 backward, batch 64",
        layer_piece(lambda: Conv2D(32, 3), (16, 14, 14), 64, True, channel_major=True),
        5,
    )
    yield "max-pool 2×2 forward (64, 16, 28, 28)", layer_piece(MaxPool2D, (16, 28, 28), 64, False, True), 5
    yield "max-pool 2×2 backward (64, 16, 28, 28)", layer_piece(MaxPool2D, (16, 28, 28), 64, True, True), 5
    for optimizer, name in ((mom, "SGD+momentum"), (adam, "Adam")):
        for b in args.batches:
            yield f"whole step: MLP 784-512-256-10, {name}, batch {b}", step_piece("mlp:512,256", optimizer, b, X, y), 5
    yield "whole step: CNN, SGD+momentum, batch 64", step_piece(CNN_SPEC, mom, 64, Xc, yc), 2


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=15)
    p.add_argument("--smoke", action="store_true", help="tiny sizes (CI); timings meaningless")
    args = p.parse_args(argv)
    args.samples, args.batches = (2048, (32,)) if args.smoke else (20_000, (32, 128, 512))
    if args.smoke:
        args.repeats = 2
    flush_denormals(True)
    print(f"# Kernels vs the NumPy path (median of {args.repeats}, ms per call)\n")
    print("| piece | threads | kernels ms | NumPy path ms | speed-up |")
    print("|---|---|---|---|---|")
    for threads in args.threads:
        with threadpool_limits(threads), run_threads(threads):
            for label, make, inner in pieces(args):
                k, ref = ab(make, args.repeats, 1 if args.smoke else inner)
                print(f"| {label} | {threads} | {1e3 * k:.3f} | {1e3 * ref:.3f} | {ref / k:.2f}× |", flush=True)


if __name__ == "__main__":
    main()
