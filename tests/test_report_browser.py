"""The report pages in a real headless Chromium: they load offline with no console error, show the
right numbers in the DOM, and under ``nnctl view`` follow a sweep as it runs without a reload."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import browser as tooling
import pytest
from helpers import invoke

from nnctl.report.model import build_model
from nnctl.results import write_csv, write_json
from nnctl.results.store import RunLock

pytestmark = pytest.mark.skipif(tooling.why_not() is not None, reason=tooling.why_not() or "")


@pytest.fixture(scope="module")
def chromium():
    with tooling.browser() as b:
        yield b


@pytest.fixture(scope="module")
def report(results_tree, tmp_path_factory):
    out = tmp_path_factory.mktemp("html") / "report.html"
    invoke("report", "--results-dir", results_tree, "--out", out)
    return out, build_model(None, results_tree)


def url(report_file: Path, kind: str = "runs", key: str | None = None) -> str:
    return report_file.as_uri() + f"#/{kind}" + (f"/{quote(key, safe='')}" if key else "")


def number(text: str) -> float:
    return float(text.replace("−", "-").strip())


def test_every_page_loads_offline_without_console_errors(chromium, report):
    out, model = report
    routes = [("runs", None), ("sweeps", None), ("experiments", None), ("lrfinds", None)]
    routes += [("run", k) for k in list(model["runs"])[:2]] + [("sweep", k) for k in model["sweeps"]]
    routes += [("experiment", k) for k in model["experiments"]] + [("lrfind", k) for k in model["lrfinds"]]
    with tooling.open_page(chromium, url(out)) as visit:
        for kind, key in routes:
            tooling.goto(visit.page, url(out, kind, key))
            assert visit.page.locator("main h1").count() == 1, (kind, key)
            assert "Not found" not in visit.page.locator("main h1").inner_text()
        assert visit.errors == []
        assert visit.blocked == []  # nothing but the file itself was requested
        assert all(r.startswith(("file:", "about:", "data:")) for r in visit.requests)


def test_runs_table_lists_every_run_with_its_numbers(chromium, report):
    out, model = report
    table = model["table"]
    with tooling.open_page(chromium, url(out)) as visit:
        page = visit.page
        rows = page.locator("[data-table=all] tbody tr")
        assert rows.count() == len(table["rows"])
        headers = page.locator("[data-table=all] thead th").all_inner_texts()
        best = headers.index(f"best {table['metric']}")
        for row in table["rows"][:5]:
            cells = page.locator(f"[data-table=all] tbody tr[data-key='{row['key']}'] td").all_inner_texts()
            assert number(cells[best]) == pytest.approx(row["best"], rel=1e-3)
            assert cells[headers.index("status")] == row["status"]
        assert all(h in headers for h in table["keys"])  # the differing keys are the columns
        page.fill("[data-table=all] input[type=search]", "init=zeros")
        shown = page.locator("[data-table=all] tbody tr").count()
        assert shown == sum(1 for r in table["rows"] if str(r["values"].get("init", "")).startswith("zeros")) > 0
        page.fill("[data-table=all] input[type=search]", "")
        page.locator("[data-table=all] tbody tr input[type=checkbox]").nth(0).check()
        overlay = tooling.series(page, "[data-table=all] .overlay")
        assert any(s["data"] for s in overlay)


def test_a_run_page_draws_its_curves_verdict_and_heatmaps(chromium, report):
    out, model = report
    run = next(p for p in model["runs"].values() if p["id"].endswith("-diag"))
    with tooling.open_page(chromium, url(out, "run", run["key"])) as visit:
        page = visit.page
        loss = {s["name"]: s["data"] for s in tooling.series(page, "[data-chart=loss]") if s["type"] == "line"}
        assert [y for _, y in loss["validation"]] == pytest.approx(run["curve"]["val_loss"], rel=1e-5)
        assert [y for _, y in loss["training"]] == pytest.approx(run["curve"]["train_loss"], rel=1e-5)
        assert page.locator("#fit .badge").first.inner_text() == run["fit"]["verdict"]
        gap = f"{run['fit']['numbers']['gap_loss_last']:+.3g}"
        assert gap in page.locator("#fit").inner_text()
        maps = page.locator("[data-heatmap]")
        assert maps.count() == len(run["diagnostics"]["heatmaps"])
        saturated = tooling.series(page, "[data-heatmap=saturated]")
        marks = next(s for s in saturated if s["type"] == "scatter")["data"]
        expected = next(m for m in run["diagnostics"]["heatmaps"] if m["stat"] == "saturated")["marks"]
        assert sorted(map(tuple, marks)) == sorted(map(tuple, expected))
        page.locator("[data-chart=loss] input[type=checkbox]").check()  # the log-scale toggle
        axis = page.evaluate(
            "() => echarts.getInstanceByDom(document.querySelector('[data-chart=loss] .chart')).getOption().yAxis[0].type"
        )
        assert axis == "log"
        assert visit.errors == []


def test_a_sweep_page_draws_parallel_coordinates_and_main_effects(chromium, report):
    out, model = report
    sweep = next(s for s in model["sweeps"].values() if s["id"].startswith("grid-"))
    score = sweep["scores"][0]["name"]
    with tooling.open_page(chromium, url(out, "sweep", sweep["key"])) as visit:
        page = visit.page
        parallel = tooling.series(page, "#parallel")
        assert parallel[0]["type"] == "parallel"
        finished = [t for t in sweep["trials"] if score in t["scores"]]
        assert len(parallel[0]["data"]) == len(finished) == 8
        assert sorted(row[-1] for row in parallel[0]["data"]) == pytest.approx(
            sorted(t["scores"][score] for t in finished), rel=1e-5
        )
        text = page.locator("[data-effect=lr] table").inner_text()
        for level in sweep["effects"][score]["lr"]["levels"]:
            assert level["level"] in text
        assert page.locator("#heatmap").count() == 1 and page.locator("#grouped").count() == 1
        assert page.locator("[data-table^='sweep:'] tbody tr").count() == 8
        assert visit.errors == []


def test_an_experiment_page_shows_the_claim_verdict_and_numbers(chromium, report):
    out, model = report
    exp = next(iter(model["experiments"].values()))
    with tooling.open_page(chromium, url(out, "experiment", exp["key"])) as visit:
        page = visit.page
        assert page.locator("main h1").inner_text() == exp["claim"]
        assert page.locator("#verdict .verdict .badge").inner_text() == exp["verdict"]
        cells = page.locator("#comparisons tr").nth(1).locator("td").all_inner_texts()
        c = exp["comparisons"][0]
        assert cells[0] == c["text"]
        assert number(cells[1]) == pytest.approx(c["left_mean"], rel=1e-3)
        assert number(cells[2]) == pytest.approx(c["right_mean"], rel=1e-3)
        assert cells[7] == c["verdict"]
        curves = tooling.series(page, "#exp-curves")
        assert {s["name"] for s in curves if s["type"] == "line"} == {g["label"] for g in exp["groups"]}
        assert visit.errors == []


def fake_running_run(path: Path, epochs: int) -> None:
    """A run directory as RunRecorder keeps it while training: curve.csv grows, metrics say running."""
    path.mkdir(parents=True, exist_ok=True)
    if not (path / "config.json").is_file():
        write_json(
            path / "config.json", {"run_id": path.name, "config": {"data": "digits", "model": "mlp:8", "epochs": 50}}
        )
        write_csv(path / "metrics.csv", [{"status": "running"}])
    write_csv(
        path / "curve.csv",
        [
            {"epoch": e, "train_loss": 2.3 / (1 + e), "val_loss": 2.4 / (1 + e), "train_acc": e / 60, "val_acc": e / 70}
            for e in range(epochs + 1)
        ],
    )


def test_view_follows_a_growing_run_and_a_running_sweep_without_reloading(chromium, tmp_path):
    results = tmp_path / "results"
    growing = results / "20990101-000000-aaaaaa-growing"
    fake_running_run(growing, 2)
    lock = RunLock(growing).acquire()  # as a training process holds it
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    nnctl = [sys.executable, "-m", "nnctl"]
    view = subprocess.Popen(
        [*nnctl, "view", "--results-dir", str(results), "--port", "0", "--poll", "0.3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    sweep = None
    try:
        line = view.stdout.readline()
        address = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        with tooling.open_page(chromium, address + f"#/run/{growing.name}") as visit:
            page = visit.page
            page.evaluate("() => { window.__notReloaded = true; }")
            assert len(tooling.series(page, "[data-chart=loss]")[0]["data"]) == 3
            assert page.locator("h1 .badge").inner_text() == "running"
            fake_running_run(growing, 5)
            deadline = time.time() + 20
            while len(tooling.series(page, "[data-chart=loss]")[0]["data"]) != 6:
                assert time.time() < deadline, "the growing curve never showed up"
                page.wait_for_timeout(200)

            page.evaluate("() => { location.hash = '#/runs'; }")
            sweep = subprocess.Popen(
                [
                    *nnctl,
                    "sweep",
                    "grid",
                    "--name",
                    "live",
                    "--model",
                    "mlp:8",
                    "--epochs",
                    "4",
                    "-p",
                    "lr=0.1,0.03,0.01,0.003",
                    "--repeats",
                    "3",
                    "-w",
                    "1",
                    "--quiet",
                    "--results-dir",
                    str(results),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            seen_while_running = False
            deadline = time.time() + 120
            while time.time() < deadline:
                trials = page.locator("[data-table=all] tbody tr a[href*='trials']").count()
                running = sweep.poll() is None
                if trials and running:
                    seen_while_running = True
                    break
                if not running:
                    break
                page.wait_for_timeout(200)
            assert seen_while_running, "no trial appeared on the page while the sweep ran"
            assert page.locator("[data-sweep]").count() == 1
            assert sweep.wait(timeout=120) == 0
            deadline = time.time() + 20
            while page.locator("[data-table=all] tbody tr a[href*='trials']").count() < 12:
                assert time.time() < deadline, "the finished sweep's trials never all showed up"
                page.wait_for_timeout(200)
            assert page.evaluate("() => window.__notReloaded === true")  # updated in place
            origin = address.rstrip("/")
            assert visit.blocked == [] and all(r.startswith(origin) for r in visit.requests)
            assert visit.errors == []
    finally:
        lock.release()
        if sweep is not None and sweep.poll() is None:
            sweep.kill()
        view.send_signal(2)  # Ctrl-C
        out, err = view.communicate(timeout=20)
    assert view.returncode == 0 and "stopped" in out and err == ""
