"""Regenerate the report screenshots in docs/ with the commands they show (about a minute).

Makes results with real commands in a temporary directory — a deep tanh network with N(0,1)
weights trained with --diagnostics, the overfitting run of docs/curves.png, the 24-trial sweep of
docs/compare.png, the fast version of the regularization_gap experiment and a three-seed range
test — writes `nnctl report` of them and
photographs its pages in headless Chromium with the browser tests' tooling (tests/browser.py).

    python docs/make_report_images.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
WIDTH = 1400


def nnctl(results: Path, *args: str) -> str:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
    done = subprocess.run(
        [sys.executable, "-m", "nnctl", *args, "--results-dir", str(results)], capture_output=True, text=True, env=env
    )
    if done.returncode != 0:
        sys.exit(f"nnctl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def main() -> None:
    import browser as tooling

    from nnctl.report.model import build_model

    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        nnctl(
            results,
            "train",
            "--diagnostics",
            "--model",
            "mlp:32,32,32,32,32,32",
            "--activation",
            "tanh",
            "--init",
            "normal:std=1",
            "--epochs",
            "20",
            "--name",
            "tanh-normal",
            "--quiet",
        )
        nnctl(
            results,
            "train",
            "--data",
            "moons:n=200,noise=0.35",
            "--model",
            "mlp:256,256",
            "--lr",
            "0.01",
            "--batch-size",
            "16",
            "--epochs",
            "100",
            "--val-split",
            "0.4",
            "--test-split",
            "0.2",
            "--name",
            "overfit",
            "--quiet",
        )
        nnctl(
            results,
            "sweep",
            "grid",
            "--name",
            "init-lr",
            "--model",
            "mlp:32",
            "--optimizer",
            "sgd",
            "--epochs",
            "15",
            "-p",
            "lr=0.3,0.03,0.003",
            "-p",
            "init=zeros;normal:std=1;glorot_normal;he_normal",
            "--repeats",
            "2",
            "--quiet",
        )
        nnctl(results, "experiment", "run", "regularization_gap", "--fast")
        nnctl(results, "lr-find", "--optimizer", "sgd", "--repeats", "3", "--quiet")
        out = results / "report.html"
        nnctl(results, "report", "--out", str(out))
        model = build_model(None, results)
        run = next(k for k in model["runs"] if k.endswith("tanh-normal"))
        overfit = next(k for k in model["runs"] if k.endswith("-overfit"))
        sweep = next(k for k in model["sweeps"] if k.startswith("init-lr"))
        experiment = next(iter(model["experiments"]))
        lrfind = next(iter(model["lrfinds"]))
        shots = [  # file, route, what to photograph: a height from the top, or an element
            ("report-runs.png", "#/runs", 1250),
            ("report-run.png", f"#/run/{quote(overfit, safe='')}", 1250),
            ("report-diagnostics.png", f"#/run/{quote(run, safe='')}", "main > section"),
            ("report-sweep.png", f"#/sweep/{quote(sweep, safe='')}", 1560),
            ("report-experiment.png", f"#/experiment/{quote(experiment, safe='')}", 1260),
            ("report-lrfind.png", f"#/lrfind/{quote(lrfind, safe='')}", 1080),
        ]
        with tooling.browser() as b:
            for name, route, what in shots:
                with tooling.open_page(b, out.as_uri() + route, width=WIDTH, height=1000) as visit:
                    page = visit.page
                    page.wait_for_timeout(400)
                    if visit.errors or visit.blocked:
                        sys.exit(f"{name}: {visit.errors + visit.blocked}")
                    target = ROOT / "docs" / name
                    if isinstance(what, int):
                        height = min(what, page.evaluate("() => document.documentElement.scrollHeight"))
                        page.screenshot(
                            path=str(target), full_page=True, clip={"x": 0, "y": 0, "width": WIDTH, "height": height}
                        )
                    else:  # the sticky bar would cover the element's top
                        page.evaluate("() => { document.querySelector('header').style.position = 'static'; }")
                        page.locator(what).first.screenshot(path=str(target))
                    print(target.relative_to(ROOT))


if __name__ == "__main__":
    main()
