"""Training throughput of nnctl's NumPy core next to PyTorch (CPU) and scikit-learn, in one run.

Usage: python experiments/benchmarks/bench.py [--smoke] [--threads 1 2] [--repeats 5]

Every case trains the same model on the same data with the same thread count in this one process,
and reports samples per second (forward + backward + update, plus the minibatch gather and the
loss/accuracy read-back a training loop does), the median of ``--repeats`` timed repeats after a
warm-up. nnctl is timed through :class:`nnctl.training.loop.TrainStep`, the step its fit loop runs.

Data: MNIST-sized synthetic inputs, 60,000 × 784 float32 standard-normal values with 10 random
classes (images of 1×28×28 for the CNN). Cases:

* MLP 784-512-256-10 with SGD+momentum and with Adam at batch 32, 128 and 512;
* CNN conv16×3 – maxpool2 – conv32×3 – maxpool2 – dense10 at batch 64 (PyTorch NCHW and
  channels-last, default and fused optimizers: the faster is the peer);
* the digits CNN (conv:16x3,relu,maxpool:2,flatten,dense:10) on the bundled 8×8 digits;
* the default ``nnctl train`` run end to end (wall time, and samples/s from its curve.csv).

It also measures the float32 GEMM peak (2048³ sgemm), nnctl's achieved GFLOP/s as a fraction of it,
the share of the MLP step spent outside the matrix products (the same products timed alone), and
the peak memory of the MLP benchmark (run in a subprocess) against the dataset and model sizes.

Threads are set explicitly for every library (threadpoolctl for NumPy's BLAS, torch.set_num_threads).
``--smoke`` runs tiny sizes in seconds (for CI; its timings mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
import peers  # noqa: E402
from products import mlp_product_seconds, sgemm_gflops  # noqa: E402

from nnctl.core.optimizers import flush_denormals  # noqa: E402
from nnctl.data import Dataset  # noqa: E402
from nnctl.training import RunConfig, prepare  # noqa: E402
from nnctl.training.loop import TrainStep  # noqa: E402

MLP_WIDTHS = (512, 256)
CNN_CHANNELS = (16, 32)
CNN_SPEC = "conv:16x3,relu,maxpool:2,conv:32x3,relu,maxpool:2,flatten,dense:10"
DIGITS_CNN_SPEC = "conv:16x3,relu,maxpool:2,flatten,dense:10"
NNCTL_OPT = {"sgd": "momentum:momentum=0.9", "adam": "adam"}
#: targets from the performance issue (1 thread): minimum nnctl/PyTorch ratio per case
TARGETS = {
    ("mlp", "sgd", 32): 1.3, ("mlp", "sgd", 128): 1.2, ("mlp", "sgd", 512): 1.0,
    ("mlp", "adam", 32): 1.3, ("mlp", "adam", 128): 1.3, ("cnn", "sgd", 64): 1.0,
}  # fmt: skip


def synthetic(n: int, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, *shape), dtype=np.float32), rng.integers(0, 10, n)


def nnctl_runner(model: str, optimizer: str, X: np.ndarray, y: np.ndarray, batch: int, seed: int = 1):
    """nnctl's fit-loop step on (X, y). Components come from ``prepare`` on a small slice of the
    data (so the dataset is not copied by the split), then train on all of it."""
    small = Dataset(X[: 4 * batch], y[: 4 * batch], "classification", "bench", classes=[str(c) for c in range(10)])
    cfg = RunConfig(
        model=model, optimizer=optimizer, batch_size=batch, val_split=0.0, test_split=0.0, standardize=False
    )
    run = prepare(cfg, dataset=small)
    run.splits = replace(run.splits, X_train=X, y_train=y)
    return _stepper(run, batch, seed), run


def _stepper(run, batch: int, seed: int):
    step = TrainStep(run, batch)
    lr = float(run.optimizer.lr)
    n = len(run.splits.X_train)
    order = np.random.default_rng(seed).permutation(n)
    n_batches = n // batch
    pos = [0]

    def steps(k: int) -> None:
        for _ in range(k):
            b = pos[0] % n_batches
            pos[0] += 1
            step(order[b * batch : (b + 1) * batch], lr)

    return steps


def rate(run, steps: int, batch: int, repeats: int) -> float:
    """Median samples/s of ``repeats`` timed calls of ``run(steps)`` after one warm-up call."""
    run(max(steps // 4, 2))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        run(steps)
        times.append(time.perf_counter() - t)
    return steps * batch / statistics.median(times)


def torch_rates(make_net, optimizer, X, y, batch, steps, repeats, variants, threads) -> dict[str, float]:
    if not peers.torch_available():
        return {}
    import torch

    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)
    out = {}
    for variant in variants:
        torch.manual_seed(0)
        out[variant] = rate(peers.torch_runner(make_net(), optimizer, X, y, batch, variant), steps, batch, repeats)
    return out


def mlp_cases(args, X, y, threads, rows, gemm) -> None:
    for optimizer in ("sgd", "adam"):
        for batch in args.mlp_batches:
            steps = max(args.min_steps, args.samples // batch)
            run, prepared = nnctl_runner("mlp:512,256", NNCTL_OPT[optimizer], X, y, batch)
            ours = rate(run, steps, batch, args.repeats)
            torch = torch_rates(
                lambda: peers.torch_mlp(MLP_WIDTHS, X.shape[1], 10), optimizer, X, y, batch, steps,
                args.repeats, ("default", "fused"), threads,
            )  # fmt: skip
            sk_steps = max(args.min_steps, steps // 2)
            sk = rate(peers.sklearn_runner(MLP_WIDTHS, optimizer, X, y, batch), sk_steps, batch, args.repeats)
            rows.append(_row("mlp", optimizer, batch, threads, ours, torch, sk))
            if optimizer == "sgd":
                seconds, flops = mlp_product_seconds((X.shape[1], *MLP_WIDTHS, 10), batch, args.repeats)
                step_s = batch / ours
                gemm.append(
                    {
                        "batch": batch, "threads": threads, "step_ms": 1e3 * step_s, "products_ms": 1e3 * seconds,
                        "step_gflops": flops / step_s / 1e9, "products_gflops": flops / seconds / 1e9,
                        "outside": 1.0 - seconds / step_s,
                    }
                )  # fmt: skip


def cnn_cases(args, threads, rows) -> None:
    Xc, yc = synthetic(args.cnn_samples, (1, 28, 28), seed=2)
    batch = 64
    steps = max(args.min_steps, args.samples // 8 // batch)
    run, _ = nnctl_runner(CNN_SPEC, NNCTL_OPT["sgd"], Xc, yc, batch)
    ours = rate(run, steps, batch, args.repeats)
    torch = torch_rates(
        lambda: peers.torch_cnn(CNN_CHANNELS, (1, 28, 28), 10), "sgd", Xc, yc, batch, steps, args.repeats,
        ("default", "fused", "default+cl", "fused+cl"), threads,
    )  # fmt: skip
    rows.append(_row("cnn", "sgd", batch, threads, ours, torch, None))
    # the digits CNN, trained on the bundled digits as `nnctl train --model ...` does (Adam, batch 32)
    cfg = RunConfig(model=DIGITS_CNN_SPEC)
    prepared = prepare(cfg)
    batch = 32
    steps = max(args.min_steps, len(prepared.splits.X_train) // batch)
    ours = rate(_stepper(prepared, batch, 1), steps, batch, args.repeats)
    Xd, yd = prepared.splits.X_train, prepared.splits.y_train
    torch = torch_rates(
        lambda: peers.torch_cnn((16,), (1, 8, 8), 10), "adam", Xd, yd, batch, steps, args.repeats,
        ("default", "fused", "default+cl", "fused+cl"), threads,
    )  # fmt: skip
    rows.append(_row("digits-cnn", "adam", batch, threads, ours, torch, None))


def digits_end_to_end(args, threads) -> dict[str, float]:
    """`nnctl train` with its default configuration, in a subprocess: wall time and samples/s."""
    from nnctl.results.runs import load_run

    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    walls, rates = [], []
    for _ in range(args.e2e_repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "nnctl", "train", "--results-dir", tmp, "--name", "bench"]
            cmd += ["--epochs", str(args.e2e_epochs)] if args.e2e_epochs else []
            t = time.perf_counter()
            subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
            walls.append(time.perf_counter() - t)
            record = load_run(next(Path(tmp).iterdir()))
            curve = record.curve[record.curve["epoch"] > 0]
            rates.append(float(curve["samples_per_second"].median()))
    return {"wall_s": statistics.median(walls), "samples_per_s": statistics.median(rates)}


def _peak_rss() -> int:
    """This process's peak resident memory in bytes: VmHWM (Linux; reset by exec, unlike ru_maxrss,
    which a child started by fork + exec inherits from its parent), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def memory_child(args) -> None:
    """Run in a subprocess: the MLP benchmark (SGD, batch 128) under tracemalloc; print sizes as JSON."""
    import tracemalloc

    base_rss = _peak_rss()
    tracemalloc.start()
    X, y = synthetic(args.samples_total, (784,))
    run, prepared = nnctl_runner("mlp:512,256", NNCTL_OPT["sgd"], X, y, 128)
    with threadpool_limits(1):
        run(max(args.min_steps, args.samples // 128))
    _, peak = tracemalloc.get_traced_memory()
    model = prepared.model.params.nbytes + prepared.model.grads.nbytes
    model += sum(v.nbytes for v in prepared.optimizer.state.values())
    print(json.dumps({
        "peak": peak, "dataset": X.nbytes + y.nbytes, "model": model,
        "rss": _peak_rss(), "base_rss": base_rss,
    }))  # fmt: skip


def peak_memory(args) -> dict[str, float]:
    cmd = [sys.executable, __file__, "--memory-child"] + (["--smoke"] if args.smoke else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _row(case, optimizer, batch, threads, ours, torch: dict[str, float], sk) -> dict:
    best = max(torch, key=torch.get) if torch else None
    return {
        "case": case, "optimizer": optimizer, "batch": batch, "threads": threads, "nnctl": ours,
        "torch": torch.get(best) if best else None, "torch_variant": best, "torch_all": torch, "sklearn": sk,
    }  # fmt: skip


def _fmt(x, spec="{:,.0f}") -> str:
    return "–" if x is None else spec.format(x)


def report(args, rows, gemm, peaks, e2e, memory) -> None:
    print(f"\n## Training throughput (samples/s, median of {args.repeats} repeats)\n")
    print(
        "| case | opt | batch | thr | nnctl | PyTorch (best variant) | nnctl/PyTorch | sklearn | nnctl/sklearn "
        "| target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t_ratio = r["nnctl"] / r["torch"] if r["torch"] else None
        s_ratio = r["nnctl"] / r["sklearn"] if r["sklearn"] else None
        target = TARGETS.get((r["case"], r["optimizer"], r["batch"])) if r["threads"] == 1 else None
        verdict = "" if target is None or t_ratio is None else f"≥{target}× {'met' if t_ratio >= target else 'MISSED'}"
        if s_ratio is not None and r["threads"] == 1:
            verdict += ("; " if verdict else "") + f"≥1.5× sk {'met' if s_ratio >= 1.5 else 'MISSED'}"
        torch_cell = f"{_fmt(r['torch'])} ({r['torch_variant']})" if r["torch"] else "–"
        print(
            f"| {r['case']} | {r['optimizer']} | {r['batch']} | {r['threads']} | {_fmt(r['nnctl'])} | {torch_cell} "
            f"| {_fmt(t_ratio, '{:.2f}×')} | {_fmt(r['sklearn'])} | {_fmt(s_ratio, '{:.2f}×')} | {verdict} |"
        )
    print("\nPyTorch variants (samples/s): " + "; ".join(
        f"{r['case']}/{r['optimizer']}/b{r['batch']}/t{r['threads']}: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in r["torch_all"].items()) for r in rows if r["torch_all"]
    ))  # fmt: skip
    print("\n## Matrix products vs the whole step (MLP, SGD+momentum)\n")
    print("| batch | thr | sgemm peak GFLOP/s | step ms | products alone ms | step GFLOP/s (% peak) "
          "| products GFLOP/s (% peak) | outside products | step/products efficiency |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for g in gemm:
        peak = peaks[g["threads"]]
        print(
            f"| {g['batch']} | {g['threads']} | {peak:.0f} | {g['step_ms']:.2f} | {g['products_ms']:.2f} "
            f"| {g['step_gflops']:.0f} ({100 * g['step_gflops'] / peak:.0f}%) "
            f"| {g['products_gflops']:.0f} ({100 * g['products_gflops'] / peak:.0f}%) "
            f"| {100 * g['outside']:.0f}% | {100 * (1 - g['outside']):.0f}% |"
        )
    budget_report(rows, gemm)
    print("\n## Default `nnctl train` (digits, mlp:128,64, adam, batch 32), end to end\n")
    for threads, r in e2e.items():
        print(
            f"- {threads} thread(s): wall {r['wall_s']:.2f} s (process start to exit), "
            f"{r['samples_per_s']:,.0f} samples/s"
        )
    mb = 1 / 2**20
    need = memory["dataset"] + memory["model"]
    print("\n## Peak memory of the MLP benchmark (SGD+momentum, batch 128, subprocess)\n")
    print(f"- dataset {memory['dataset'] * mb:.1f} MiB + model (params, grads, momentum) "
          f"{memory['model'] * mb:.1f} MiB "
          f"= {need * mb:.1f} MiB")  # fmt: skip
    print(f"- traced peak (NumPy allocations, tracemalloc) {memory['peak'] * mb:.1f} MiB = "
          f"{memory['peak'] / need:.2f}× "
          f"dataset + model")  # fmt: skip
    grown = memory["rss"] - memory["base_rss"]
    print(f"- peak RSS {memory['rss'] * mb:.1f} MiB, of which {grown * mb:.1f} MiB ({grown / need:.2f}× dataset + "
          f"model) after the interpreter and libraries were loaded")  # fmt: skip


def budget_report(rows, gemm) -> None:
    """For each MLP target: the step time it allows next to what NumPy's matrix products alone take.

    A target of r× PyTorch allows a step of batch / (r · PyTorch's samples/s). When the eight
    products of the step, timed alone on the same shapes, already take most or all of that, the
    target cannot be reached by work outside the products."""
    products = {(g["batch"], g["threads"]): g["products_ms"] for g in gemm}
    lines = []
    for r in rows:
        target = TARGETS.get((r["case"], r["optimizer"], r["batch"]))
        alone = products.get((r["batch"], r["threads"]))
        if r["case"] != "mlp" or r["threads"] != 1 or target is None or not r["torch"] or alone is None:
            continue
        budget = 1e3 * r["batch"] / (target * r["torch"])
        step = 1e3 * r["batch"] / r["nnctl"]
        lines.append(
            f"| {r['optimizer']} | {r['batch']} | {target}× | {budget:.2f} | {alone:.2f} | {budget - alone:+.2f} "
            f"| {step:.2f} | {step - alone:.2f} |"
        )
    if not lines:
        return
    print("\n## What each target leaves for the work outside the matrix products (1 thread)\n")
    print("| opt | batch | target | allowed step ms | products alone ms | left for the rest ms "
          "| nnctl step ms | nnctl outside products ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))


def describe_machine(args) -> None:
    print(f"# nnctl training benchmark{' (smoke: tiny sizes, timings meaningless)' if args.smoke else ''}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, {os.cpu_count()} CPUs")
    for info in threadpool_info():
        print(f"threadpool: {info['internal_api']} {info.get('version')} kernel={info.get('architecture')} "
              f"({Path(info['filepath']).name})")  # fmt: skip
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"{var}={os.environ.get(var, '(unset)')}")
    if peers.torch_available():
        import torch

        print(f"torch {torch.__version__} (BLAS: {'MKL' if torch.backends.mkl.is_available() else 'other'})")
    else:
        print("torch: not installed (PyTorch columns empty)")
    import sklearn

    print(f"scikit-learn {sklearn.__version__}; flush-to-zero for nnctl's loop: {flush_denormals(True)}")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (CI)")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.smoke:
        args.samples_total, args.samples, args.cnn_samples, args.min_steps = 512, 64, 256, 2
        args.repeats, args.mlp_batches, args.gemm_n, args.e2e_epochs, args.e2e_repeats = 1, (32,), 256, 1, 1
    else:
        args.samples_total, args.samples, args.cnn_samples, args.min_steps = 60_000, 16_384, 60_000, 20
        args.mlp_batches, args.gemm_n, args.e2e_epochs, args.e2e_repeats = (32, 128, 512), 2048, 0, 3
    return args


def main(argv=None) -> None:
    args = parse(argv)
    if args.memory_child:
        memory_child(args)
        return
    describe_machine(args)
    X, y = synthetic(args.samples_total, (784,))
    rows, gemm, peaks, e2e = [], [], {}, {}
    for threads in args.threads:
        with threadpool_limits(threads):
            peaks[threads] = sgemm_gflops(args.gemm_n, args.repeats)
            print(f"threads={threads}: sgemm {args.gemm_n}³ {peaks[threads]:.0f} GFLOP/s", flush=True)
            mlp_cases(args, X, y, threads, rows, gemm)
            cnn_cases(args, threads, rows)
        e2e[threads] = digits_end_to_end(args, threads)
    report(args, rows, gemm, peaks, e2e, peak_memory(args))


if __name__ == "__main__":
    main()
