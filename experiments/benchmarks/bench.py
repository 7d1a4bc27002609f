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

nnctl is timed twice per case: with its compiled kernels (the default) and with the NumPy reference
path (``NNCTL_KERNELS=numpy``), so each run shows what the kernels buy on the machine it runs on.

It also measures the float32 GEMM peak (2048³ sgemm), nnctl's achieved GFLOP/s as a fraction of it,
the share of the MLP step spent outside the matrix products (the same products timed alone), the
same products in PyTorch (MKL), which bounds what a NumPy core on OpenBLAS can reach, and the peak
memory of the MLP benchmark (run in a subprocess) against the dataset and model sizes. Every target
of the performance issue gets a verdict.

Threads are set explicitly for every library (threadpoolctl for NumPy's BLAS and nnctl's kernels
through the run's own thread setting, torch.set_num_threads).
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
from products import mlp_product_seconds, sgemm_gflops, torch_mlp_product_seconds  # noqa: E402

from nnctl.core import kernels  # noqa: E402
from nnctl.core.optimizers import flush_denormals  # noqa: E402
from nnctl.data import Dataset  # noqa: E402
from nnctl.training import RunConfig, prepare  # noqa: E402
from nnctl.training.loop import TrainStep  # noqa: E402
from nnctl.training.threads import run_threads  # noqa: E402

MLP_WIDTHS = (512, 256)
CNN_CHANNELS = (16, 32)
CNN_SPEC = "conv:16x3,relu,maxpool:2,conv:32x3,relu,maxpool:2,flatten,dense:10"
DIGITS_CNN_SPEC = "conv:16x3,relu,maxpool:2,flatten,dense:10"
NNCTL_OPT = {"sgd": "momentum:momentum=0.9", "adam": "adam"}
#: targets of the performance issue, at every thread count: minimum nnctl/PyTorch ratio per case
#: (the CNN against PyTorch's channels-last variants, the others against PyTorch's faster variant)
TARGETS = {
    ("mlp", "sgd", 32): 1.2, ("mlp", "sgd", 128): 1.0, ("mlp", "sgd", 512): 0.95,
    ("mlp", "adam", 32): 1.3, ("mlp", "adam", 128): 1.0, ("mlp", "adam", 512): 1.0,
    ("cnn", "sgd", 64): 1.2, ("digits-cnn", "adam", 32): 2.0,
}  # fmt: skip
SKLEARN_TARGET = 1.5  # nnctl/scikit-learn in every MLP case
OUTSIDE_TARGET = 0.15  # most of the MLP step outside the products at batch 128 and 512
THREADS_TARGET = 0.10  # ratios with 2 threads within 10% of those with 1
MEMORY_TARGET = 1.5  # traced peak / (dataset + model)


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


def nnctl_rates(run, model, steps: int, batch: int, repeats: int, threads: int) -> dict:
    """Samples/s of an nnctl stepper with the kernels and with the NumPy path (the run's thread
    setting), and which of the two ``nnctl train`` would use for this model (kernels.chosen_for)."""
    out = {"chosen": kernels.chosen_for(model, batch)}
    with run_threads(threads):
        with kernels.use(True):
            out["kernels"] = rate(run, steps, batch, repeats)
        with kernels.use(False):
            out["numpy"] = rate(run, steps, batch, repeats)
    return out


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
            ours = nnctl_rates(run, prepared.model, steps, batch, args.repeats, threads)
            torch = torch_rates(
                lambda: peers.torch_mlp(MLP_WIDTHS, X.shape[1], 10), optimizer, X, y, batch, steps,
                args.repeats, ("default", "fused"), threads,
            )  # fmt: skip
            sk_steps = max(args.min_steps, steps // 2)
            sk = rate(peers.sklearn_runner(MLP_WIDTHS, optimizer, X, y, batch), sk_steps, batch, args.repeats)
            rows.append(_row("mlp", optimizer, batch, threads, ours, torch, sk))
            if optimizer == "sgd":
                widths = (X.shape[1], *MLP_WIDTHS, 10)
                seconds, flops = mlp_product_seconds(widths, batch, args.repeats)
                mkl = torch_products(widths, batch, args.repeats, threads)
                step_s = batch / ours["kernels"]
                gemm.append(
                    {
                        "batch": batch, "threads": threads, "step_ms": 1e3 * step_s, "products_ms": 1e3 * seconds,
                        "step_gflops": flops / step_s / 1e9, "products_gflops": flops / seconds / 1e9,
                        "outside": 1.0 - seconds / step_s, "mkl_ms": None if mkl is None else 1e3 * mkl,
                    }
                )  # fmt: skip


def torch_products(widths, batch, repeats, threads) -> float | None:
    if not peers.torch_available():
        return None
    import torch

    torch.set_num_threads(threads)
    return torch_mlp_product_seconds(widths, batch, repeats)


def cnn_cases(args, threads, rows) -> None:
    Xc, yc = synthetic(args.cnn_samples, (1, 28, 28), seed=2)
    batch = 64
    steps = max(args.min_steps, args.samples // 8 // batch)
    run, prepared = nnctl_runner(CNN_SPEC, NNCTL_OPT["sgd"], Xc, yc, batch)
    ours = nnctl_rates(run, prepared.model, steps, batch, args.repeats, threads)
    torch = torch_rates(
        lambda: peers.torch_cnn(CNN_CHANNELS, (1, 28, 28), 10), "sgd", Xc, yc, batch, steps, args.repeats,
        ("default", "fused", "default+cl", "fused+cl"), threads,
    )  # fmt: skip
    rows.append(_row("cnn", "sgd", batch, threads, ours, torch, None, peer_filter="+cl"))
    # the digits CNN, trained on the bundled digits as `nnctl train --model ...` does (Adam, batch 32)
    cfg = RunConfig(model=DIGITS_CNN_SPEC)
    prepared = prepare(cfg)
    batch = 32
    steps = max(args.min_steps, len(prepared.splits.X_train) // batch)
    ours = nnctl_rates(_stepper(prepared, batch, 1), prepared.model, steps, batch, args.repeats, threads)
    Xd, yd = prepared.splits.X_train, prepared.splits.y_train
    torch = torch_rates(
        lambda: peers.torch_cnn((16,), (1, 8, 8), 10), "adam", Xd, yd, batch, steps, args.repeats,
        ("default", "fused", "default+cl", "fused+cl"), threads,
    )  # fmt: skip
    rows.append(_row("digits-cnn", "adam", batch, threads, ours, torch, None))


def digits_end_to_end(args, threads) -> dict[str, float]:
    """`nnctl train` with its default configuration, in a subprocess: wall time and samples/s."""
    from nnctl.results import load_run

    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    walls, rates = [], []
    for _ in range(args.e2e_repeats):
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "nnctl", "train", "--results-dir", tmp, "--name", "bench"]
            cmd += ["--threads", str(threads)]
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
    with threadpool_limits(1), run_threads(1):
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


def _row(case, optimizer, batch, threads, ours: dict, torch: dict[str, float], sk, peer_filter="") -> dict:
    """A result row: nnctl is the path ``nnctl train`` takes for the model; the PyTorch peer is its
    fastest variant (among those containing ``peer_filter``)."""
    peers_ = {k: v for k, v in torch.items() if peer_filter in k}
    best = max(peers_, key=peers_.get) if peers_ else None
    return {
        "case": case, "optimizer": optimizer, "batch": batch, "threads": threads,
        "nnctl": ours["kernels"] if ours["chosen"] else ours["numpy"], "kernels": ours["kernels"],
        "numpy_path": ours["numpy"], "path": "kernels" if ours["chosen"] else "NumPy",
        "torch": peers_.get(best) if best else None, "torch_variant": best, "torch_all": torch, "sklearn": sk,
    }  # fmt: skip


def _fmt(x, spec="{:,.0f}") -> str:
    return "–" if x is None else spec.format(x)


def _ratio(r) -> float | None:
    return r["nnctl"] / r["torch"] if r["torch"] else None


def report(args, rows, gemm, peaks, e2e, memory) -> None:
    verdicts: list[str] = []
    print(f"\n## Training throughput (samples/s, median of {args.repeats} repeats)\n")
    print(
        "| case | opt | batch | thr | nnctl kernels | nnctl NumPy path | kernels gain | `nnctl train` uses "
        "| PyTorch (peer) | nnctl/PyTorch | target | sklearn | nnctl/sklearn |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        t_ratio = _ratio(r)
        s_ratio = r["nnctl"] / r["sklearn"] if r["sklearn"] else None
        target = TARGETS.get((r["case"], r["optimizer"], r["batch"]))
        verdict = "" if target is None or t_ratio is None else f"≥{target}× {'met' if t_ratio >= target else 'MISSED'}"
        where = f"{r['case']} {r['optimizer']} batch {r['batch']}, {r['threads']} thread(s)"
        if verdict:
            verdicts.append(f"{where}: nnctl/PyTorch {t_ratio:.2f}×, target {verdict}")
        if s_ratio is not None:
            ok = "met" if s_ratio >= SKLEARN_TARGET else "MISSED"
            verdicts.append(f"{where}: nnctl/scikit-learn {s_ratio:.2f}×, target ≥{SKLEARN_TARGET}× {ok}")
        torch_cell = f"{_fmt(r['torch'])} ({r['torch_variant']})" if r["torch"] else "–"
        gain = r["kernels"] / r["numpy_path"] if r["numpy_path"] else None
        print(
            f"| {r['case']} | {r['optimizer']} | {r['batch']} | {r['threads']} | {_fmt(r['kernels'])} "
            f"| {_fmt(r['numpy_path'])} | {_fmt(gain, '{:.2f}×')} | {r['path']} | {torch_cell} "
            f"| {_fmt(t_ratio, '{:.2f}×')} | {verdict} | {_fmt(r['sklearn'])} | {_fmt(s_ratio, '{:.2f}×')} |"
        )
    print(
        "\nnnctl/PyTorch and nnctl/sklearn use the path `nnctl train` takes (NNCTL_KERNELS=auto: the kernels "
        f"when a step touches ≥ {kernels.AUTO_MIN:,} values)."
    )
    print("\nPyTorch variants (samples/s; the CNN's peer is the faster channels-last one): " + "; ".join(
        f"{r['case']}/{r['optimizer']}/b{r['batch']}/t{r['threads']}: "
        + ", ".join(f"{k} {v:,.0f}" for k, v in r["torch_all"].items()) for r in rows if r["torch_all"]
    ))  # fmt: skip
    thread_report(rows, verdicts)
    print("\n## Matrix products vs the whole step (MLP, SGD+momentum)\n")
    print("| batch | thr | sgemm peak GFLOP/s | step ms | products alone ms | step GFLOP/s (% peak) "
          "| products GFLOP/s (% peak) | outside products | target |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for g in gemm:
        peak = peaks[g["threads"]]
        target = ""
        if g["batch"] >= 128:
            target = f"≤{OUTSIDE_TARGET:.0%} {'met' if g['outside'] <= OUTSIDE_TARGET else 'MISSED'}"
            verdicts.append(
                f"MLP SGD batch {g['batch']}, {g['threads']} thread(s): {g['outside']:.0%} of the step outside the "
                f"products, target {target}"
            )
        print(
            f"| {g['batch']} | {g['threads']} | {peak:.0f} | {g['step_ms']:.2f} | {g['products_ms']:.2f} "
            f"| {g['step_gflops']:.0f} ({100 * g['step_gflops'] / peak:.0f}%) "
            f"| {g['products_gflops']:.0f} ({100 * g['products_gflops'] / peak:.0f}%) "
            f"| {100 * g['outside']:.0f}% | {target} |"
        )
    blas_bound_report(rows, gemm)
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
    ratio = memory["peak"] / need
    ok = "met" if ratio <= MEMORY_TARGET else "MISSED"
    verdicts.append(f"peak memory {ratio:.2f}× dataset + model, target ≤{MEMORY_TARGET}× {ok}")
    print("\n## Targets\n")
    met = sum("MISSED" not in v for v in verdicts)
    print(f"{met} of {len(verdicts)} met.\n")
    print("\n".join(f"- {v}" for v in verdicts))


def thread_report(rows, verdicts) -> None:
    """nnctl/PyTorch with the largest thread count against the same ratio with one thread."""
    by_case: dict[tuple, dict[int, float]] = {}
    for r in rows:
        if _ratio(r) is not None:
            by_case.setdefault((r["case"], r["optimizer"], r["batch"]), {})[r["threads"]] = _ratio(r)
    lines = []
    for (case, opt, batch), ratios in by_case.items():
        if 1 not in ratios or len(ratios) < 2:
            continue
        most = max(ratios)
        change = ratios[most] / ratios[1] - 1
        ok = "met" if abs(change) <= THREADS_TARGET else "MISSED"
        lines.append(
            f"| {case} | {opt} | {batch} | {ratios[1]:.2f}× | {most} | {ratios[most]:.2f}× | {change:+.0%} | {ok} |"
        )
        verdicts.append(
            f"{case} {opt} batch {batch}: nnctl/PyTorch {ratios[1]:.2f}× with 1 thread, {ratios[most]:.2f}× with "
            f"{most} ({change:+.0%}), target within ±{THREADS_TARGET:.0%} {ok}"
        )
    if lines:
        print("\n## nnctl/PyTorch with more threads against one thread\n")
        print("| case | opt | batch | ratio, 1 thread | threads | ratio | change | within ±10% |")
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(lines))


def blas_bound_report(rows, gemm) -> None:
    """The bound the BLAS sets: the MLP step's products alone in OpenBLAS (NumPy) and in MKL (PyTorch).

    If everything outside the products took no time, nnctl's step would be the OpenBLAS products
    alone; PyTorch's step is at least its MKL products. So nnctl/PyTorch can be at most
    PyTorch's step / OpenBLAS products, whatever the kernels do, and a target of r× PyTorch leaves
    batch / (r · PyTorch's samples/s) − OpenBLAS products for the rest of the step."""
    products = {(g["batch"], g["threads"]): g for g in gemm}
    lines = []
    for r in rows:
        g = products.get((r["batch"], r["threads"]))
        if r["case"] != "mlp" or g is None or not r["torch"]:
            continue
        torch_ms = 1e3 * r["batch"] / r["torch"]
        step = 1e3 * r["batch"] / r["nnctl"]
        target = TARGETS.get((r["case"], r["optimizer"], r["batch"]))
        budget = torch_ms / target if target else None
        mkl = g["mkl_ms"]
        lines.append(
            f"| {r['optimizer']} | {r['batch']} | {r['threads']} | {g['products_ms']:.2f} | {_fmt(mkl, '{:.2f}')} "
            f"| {_fmt(None if mkl is None else g['products_ms'] / mkl, '{:.2f}×')} | {torch_ms:.2f} "
            f"| {torch_ms / g['products_ms']:.2f}× | {_fmt(target, '{}×')} "
            f"| {_fmt(None if budget is None else budget - g['products_ms'], '{:+.2f}')} | {step:.2f} "
            f"| {step - g['products_ms']:.2f} |"
        )
    if not lines:
        return
    print("\n## The bound the BLAS sets: the MLP step's products alone in OpenBLAS vs MKL\n")
    print("| opt | batch | thr | products in OpenBLAS (NumPy) ms | products in MKL (PyTorch) ms | OpenBLAS/MKL "
          "| PyTorch step ms | best possible nnctl/PyTorch | target | left for the rest ms | nnctl step ms "
          "| nnctl outside products ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
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
    if kernels.available():
        import numba

        print(f"numba {numba.__version__}: nnctl's kernels compiled (NNCTL_KERNELS={kernels.mode()})")
    else:
        print("numba: not available (nnctl runs its NumPy path)")


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
    if kernels.available():
        import numba

        print(f"numba threading layer: {numba.threading_layer() if max(args.threads) > 1 else 'not started'}")
    report(args, rows, gemm, peaks, e2e, peak_memory(args))


if __name__ == "__main__":
    main()
