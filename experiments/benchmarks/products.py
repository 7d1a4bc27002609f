"""The matrix products alone: the float32 GEMM peak and an MLP step's products without the rest.

A dense layer y = x·W (x: B × K, W: K × N) costs three products per step: the forward x·W, the
weight gradient xᵀ·dy and the input gradient dy·Wᵀ (skipped for the first layer), each 2·B·K·N
floating-point operations. Timing exactly these products, on operands laid out as nnctl's Dense
layer lays them out, gives what a step would take if everything else were free; the difference to
a real step is the time spent outside the products (bias, activations, loss, optimizer, Python).
"""

from __future__ import annotations

import statistics
import time

import numpy as np


def _median_seconds(fn, repeats: int, inner: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Float32 C = A·B for n × n matrices, in GFLOP/s (2n³ operations), median of ``repeats``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    return 2 * n**3 / _median_seconds(lambda: np.matmul(a, b, out=c), repeats, 3) / 1e9


def mlp_product_seconds(widths: tuple[int, ...], batch: int, repeats: int = 5) -> tuple[float, float]:
    """(seconds, FLOPs) of one step's matrix products for an MLP with layer ``widths``."""
    rng = np.random.default_rng(0)
    acts = [rng.standard_normal((batch, w), dtype=np.float32) for w in widths]  # x / dy per layer
    outs = [np.empty((batch, w), np.float32) for w in widths]
    weights = [rng.standard_normal((k, n), dtype=np.float32) for k, n in zip(widths, widths[1:])]
    dweights = [np.empty_like(w) for w in weights]
    flops = 0
    for i, (k, n) in enumerate(zip(widths, widths[1:])):
        flops += 2 * batch * k * n * (2 if i == 0 else 3)

    def products() -> None:
        for i, w in enumerate(weights):
            np.matmul(acts[i], w, out=outs[i + 1])  # forward x·W
            np.matmul(acts[i].T, acts[i + 1], out=dweights[i])  # dW = xᵀ·dy
            if i > 0:
                np.matmul(acts[i + 1], w.T, out=outs[i])  # dx = dy·Wᵀ

    inner = max(1, 4096 // batch)
    return _median_seconds(products, repeats, inner), float(flops)


def torch_mlp_product_seconds(widths: tuple[int, ...], batch: int, repeats: int = 5) -> float | None:
    """Seconds of the same products as :func:`mlp_product_seconds`, same shapes and layout, in
    PyTorch (``torch.mm``, MKL on x86 builds) with its current thread setting; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    gen = torch.Generator().manual_seed(0)
    acts = [torch.randn(batch, w, generator=gen) for w in widths]
    outs = [torch.empty(batch, w) for w in widths]
    weights = [torch.randn(k, n, generator=gen) for k, n in zip(widths, widths[1:])]
    dweights = [torch.empty_like(w) for w in weights]

    def products() -> None:
        for i, w in enumerate(weights):
            torch.mm(acts[i], w, out=outs[i + 1])
            torch.mm(acts[i].T, acts[i + 1], out=dweights[i])
            if i > 0:
                torch.mm(acts[i + 1], w.T, out=outs[i])

    inner = max(1, 4096 // batch)
    return _median_seconds(products, repeats, inner)
