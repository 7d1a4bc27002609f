"""nnctl report / view without a browser: the page model's numbers, bad input, the file, the server."""

from __future__ import annotations

import json
import re
import shutil
import socket
import statistics
import urllib.error
import urllib.request

import numpy as np
import pandas as pd
import pytest
from helpers import invoke

from nnctl.report.fit import fit_verdict
from nnctl.report.model import ModelBuilder, build_model, to_json
from nnctl.report.server import open_server, url_of
from nnctl.results import load_run
from nnctl.results.layer_stats import fired, heatmaps
from nnctl.results.stats import welch_t_test


def embedded_model(html: str) -> dict:
    match = re.search(r'<script id="nnctl-model" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def model(results_tree):
    return build_model(None, results_tree)


def test_everything_under_the_results_dir_is_found(model):
    assert len(model["runs"]) == 1 + 8 + 6  # the run, the sweep's trials, the experiment's trials
    assert sorted(s["id"] for s in model["sweeps"].values())[0].startswith("grid-")
    assert [e["experiment"] for e in model["experiments"].values()] == ["tiny-lr"]
    assert len(model["lrfinds"]) == 1
    json.loads(to_json(model))  # plain JSON, no NaN


def test_runs_table_shows_only_the_keys_that_differ_and_the_right_numbers(model, results_tree):
    table = model["table"]
    assert table["metric"] == "val_acc" and table["better"] == "higher"
    assert "lr" in table["keys"] and "data" not in table["keys"]  # every run trained on digits
    row = next(r for r in table["rows"] if r["run"].endswith("-diag"))
    record = load_run(results_tree / row["key"])
    assert row["best"] == pytest.approx(record.curve["val_acc"].max())
    assert row["final"] == pytest.approx(record.curve["val_acc"].iloc[-1])
    assert row["test"] == pytest.approx(record.metrics["test_acc"])
    assert row["status"] == "completed" and row["epochs"] == 4


def test_run_page_has_curves_verdict_and_diagnostics(model, results_tree):
    page = next(p for p in model["runs"].values() if p["id"].endswith("-diag"))
    record = load_run(results_tree / page["key"])
    assert page["curve"]["epoch"] == list(range(5))
    assert page["curve"]["val_loss"] == pytest.approx(record.curve["val_loss"].tolist())
    assert page["fit"]["verdict"] in ("overfitting", "underfitting", "good fit")
    stats = [m["stat"] for m in page["diagnostics"]["heatmaps"]]
    assert {"grad_norm", "act_std", "saturated", "update_ratio"} <= set(stats)
    saturated = next(m for m in page["diagnostics"]["heatmaps"] if m["stat"] == "saturated")
    assert saturated["marks"], "N(0,1) weights saturate tanh units at epoch 0: the cells are marked"
    assert any("saturated" in w for w in page["warnings"])


def test_fit_verdicts_from_curves_with_known_shapes():
    epochs = np.arange(21)
    over = pd.DataFrame(
        {
            "epoch": epochs,
            "train_loss": 2.0 * np.exp(-epochs / 3),
            "train_acc": np.minimum(1, 0.5 + epochs / 20),
            "val_loss": 0.6 + 0.02 * (epochs - 8) ** 2 / 4,
            "val_acc": 0.8 - 0.0 * epochs,
        }
    )
    verdict = fit_verdict(over, {"best_epoch": 8})
    assert verdict["verdict"] == "overfitting"
    assert verdict["numbers"]["gap_loss_best"] == pytest.approx(over.val_loss[8] - over.train_loss[8])
    assert verdict["numbers"]["gap_loss_last"] == pytest.approx(over.val_loss[20] - over.train_loss[20])
    flat = pd.DataFrame(
        {
            "epoch": epochs,
            "train_loss": 2.3 - 0.001 * epochs,
            "train_acc": 0.1,
            "val_loss": 2.3 - 0.001 * epochs,
            "val_acc": 0.1,
        }
    )
    assert fit_verdict(flat)["verdict"] == "underfitting"
    good = pd.DataFrame(
        {
            "epoch": epochs,
            "train_loss": 0.1 + np.exp(-epochs),
            "train_acc": 0.97,
            "val_loss": 0.12 + np.exp(-epochs),
            "val_acc": 0.95,
        }
    )
    assert fit_verdict(good)["verdict"] == "good fit"
    assert fit_verdict(good.drop(columns=["val_loss", "val_acc"]))["verdict"] == "unknown"


def test_sweep_main_effects_are_means_over_seeds_with_welch_p(model):
    sweep = next(s for s in model["sweeps"].values() if s["id"].startswith("grid-"))
    assert [a["name"] for a in sweep["axes"]] == ["lr", "init", "seed"]
    assert sweep["counts"] == {"completed": 8}
    score = sweep["scores"][0]["name"]
    assert score == "best_val_loss"
    done = [t for t in sweep["trials"] if score in t["scores"]]
    effect = sweep["effects"][score]["lr"]
    for level in effect["levels"]:  # each seed: the mean over the init values at this lr
        per_seed = {}
        for t in done:
            if f"{t['values']['lr']:g}" == level["level"]:
                per_seed.setdefault(t["values"]["seed"], []).append(t["scores"][score])
        expected = [statistics.fmean(v) for v in per_seed.values()]
        assert sorted(level["values"]) == pytest.approx(sorted(expected))
        assert level["mean"] == pytest.approx(statistics.fmean(expected))
    best = next(lv for lv in effect["levels"] if lv["best"])
    other = next(lv for lv in effect["levels"] if not lv["best"])
    assert best["mean"] <= other["mean"]  # lower is better for a loss
    assert other["p"] == pytest.approx(welch_t_test(np.array(other["values"]), np.array(best["values"]))["p"])
    cells = sweep["heatmaps"][score]["lr|init"]["cells"]
    assert len(cells) == 4 and all(c[3] == 2 for c in cells)  # each combination: its 2 seeds
    assert len(sweep["curves"]) == 4 and all(p["n"] == 2 for p in sweep["curves"])


def test_experiment_page_and_outcome_json(model, results_tree):
    exp = next(iter(model["experiments"].values()))
    outcome = json.loads((results_tree / "tiny-lr" / "outcome.json").read_text())
    assert exp["verdict"] == outcome["verdict"] in ("SUPPORTED", "NOT SUPPORTED", "INCONCLUSIVE")
    assert exp["claim"] == outcome["claim"] and exp["expectation"] == "val_acc[lr=0.1] > val_acc[lr=0.001]"
    comparison = outcome["comparisons"][0]
    assert set(comparison) >= {"text", "left", "right", "effect", "noise", "n", "test", "p", "verdict"}
    assert comparison["effect"] == pytest.approx(comparison["left_mean"] - comparison["right_mean"])
    assert [len(g["trials"]) for g in exp["groups"]] == [3, 3]
    assert set(exp["groups"][0]["curves"]) == {"train_loss", "val_loss"}
    assert exp["groups"][0]["curves"]["val_loss"]["n"] == 3


def test_lrfind_page_has_every_seed_and_the_suggestions(model):
    page = next(iter(model["lrfinds"].values()))
    assert [c["seed"] for c in page["curves"]] == [0, 1]
    assert set(page["spread"]) == {"valley", "steep", "minimum"} and page["recommended"] == "minimum"
    seed_colours = {c["colour"] for c in page["curves"]}
    assert not seed_colours & set(page["colours"].values())  # no seed wears a suggestion's colour


def test_layer_stats_marks_every_epoch_a_rule_holds():
    rows = [{"epoch": e, "layer": "2:relu", "stat": "dead", "value": v} for e, v in enumerate((0.1, 0.6, 0.7))]
    rows += [
        {"epoch": e, "layer": "model", "stat": "grad_ratio_first_last", "value": v}
        for e, v in enumerate((1.0, 1e-4, 1.0))
    ]
    rows += [{"epoch": e, "layer": "1:dense", "stat": "grad_norm", "value": 1.0} for e in range(3)]
    frame = pd.DataFrame(rows)
    assert [(f["epoch"], f["rule"]) for f in fired(frame)] == [
        (1, "dead_units"),
        (1, "vanishing_or_exploding"),
        (2, "dead_units"),
    ]
    maps = {m["stat"]: m for m in heatmaps(frame)}
    assert maps["dead"]["marks"] == [[1, 0], [2, 0]]
    assert maps["grad_norm"]["marks"] == [[1, 0]]  # the epoch gradients vanished


# --- bad input ------------------------------------------------------------------------------------


@pytest.fixture
def damaged(results_tree, tmp_path):
    """Copies of a good run, each damaged one way."""
    good = next(p for p in results_tree.iterdir() if p.name.endswith("-diag"))
    root = tmp_path / "results"
    for name in ("truncated", "garbage-config", "no-weights", "binary-metrics", "text-in-curve", "killed"):
        shutil.copytree(good, root / name)
    curve = (good / "curve.csv").read_bytes()
    (root / "truncated" / "curve.csv").write_bytes(curve[: len(curve) - 7])
    (root / "garbage-config" / "config.json").write_text('{"config": [1, 2')
    (root / "no-weights" / "weights.npz").unlink()
    (root / "binary-metrics" / "metrics.csv").write_bytes(bytes(range(256)))
    lines = curve.decode().splitlines()
    lines[2] = re.sub(r"^(\d+),(\d+),", r"\1,\2,abc", lines[2])
    (root / "text-in-curve" / "curve.csv").write_text("\n".join(lines) + "\n")
    metrics = (root / "killed" / "metrics.csv").read_text().replace("\ncompleted,", "\nrunning,")
    (root / "killed" / "metrics.csv").write_text(metrics)
    (root / "empty").mkdir()
    return root


def test_damaged_runs_show_what_can_be_read(damaged):
    invoke("report", "--results-dir", damaged)
    pages = embedded_model((damaged / "report.html").read_text())["runs"]
    assert pages["truncated"]["problems"] == ["curve.csv: the last line is cut off (left out)"]
    assert len(pages["truncated"]["curve"]["epoch"]) == 4  # the cut-off last epoch is left out
    assert pages["garbage-config"]["problems"][0].startswith("config.json: is not valid JSON")
    assert len(pages["garbage-config"]["curve"]["epoch"]) == 5  # its curve is still shown
    assert pages["no-weights"]["problems"] == ["weights.npz: missing"]
    assert pages["binary-metrics"]["problems"][0].startswith("metrics.csv: is not a valid CSV file")
    assert pages["text-in-curve"]["problems"] == ["curve.csv: 1 value(s) of 'lr' are not numbers (left out)"]
    assert pages["killed"]["status"] == "incomplete"  # says running, but no process holds its lock


def test_a_path_with_no_runs_is_a_note_not_an_error(damaged, tmp_path):
    out = tmp_path / "empty.html"
    result = invoke("report", damaged / "empty", "--out", out)
    assert "nothing nnctl wrote was found" in result.output
    assert embedded_model(out.read_text())["notes"]


def test_unknown_names_and_bad_outputs_are_one_line(results_tree, tmp_path):
    for args, message in (
        (["report", "no-such-run", "--results-dir", str(results_tree)], "unknown run or sweep 'no-such-run'"),
        (["report", "--out", str(tmp_path / "x.txt"), "--results-dir", str(results_tree)], "must end in .html"),
    ):
        result = invoke(*args, expect=2)
        assert message in result.output and "Traceback" not in result.output
    other = tmp_path / "mine.html"
    other.write_text("<html>someone else's page</html>")
    result = invoke("report", "--out", other, "--results-dir", results_tree, expect=2)
    assert "was not written by nnctl" in result.output


def test_the_report_is_one_file_that_loads_nothing(results_tree, tmp_path):
    out = tmp_path / "report.html"
    invoke("report", "--results-dir", results_tree, "--out", out)
    html = out.read_text()
    assert '<meta name="generator" content="nnctl">' in html[:2000]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # no external script, style or font
    assert "@import" not in html and "url(http" not in html
    assert "default-src 'none'" in html
    # written again over its own file without --force
    invoke("report", "--results-dir", results_tree, "--out", out)


def test_model_builder_rereads_only_what_changed(results_tree):
    builder = ModelBuilder(None, results_tree, live=True)
    first = builder.model()
    assert builder.model() is first  # nothing changed: the same model
    run = next(p for p in results_tree.iterdir() if p.name.endswith("-diag"))
    metrics = run / "metrics.csv"
    backup = metrics.read_bytes()
    try:
        metrics.write_text(backup.decode().replace("\ncompleted,", "\ninterrupted,"))
        second = builder.model()
        assert second["version"] != first["version"]
        assert second["runs"][run.name]["status"] == "interrupted"
    finally:
        metrics.write_bytes(backup)


# --- the server ------------------------------------------------------------------------------------


@pytest.fixture
def server(results_tree):
    import threading

    srv = open_server(results_tree, "127.0.0.1", 0, poll=0.3)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(url: str, host: str | None = None):
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_server_listens_on_loopback_and_serves_only_the_page_and_model(server):
    assert server.server_address[0] == "127.0.0.1"
    url = url_of(server)
    status, body = _get(url)
    assert status == 200 and b'<meta name="generator" content="nnctl">' in body
    assert embedded_model(body.decode())["live"] is True
    status, body = _get(url + "api/model.json")
    assert status == 200 and json.loads(body)["version"]
    assert json.loads(_get(url + "api/version")[1])["version"] == json.loads(body)["version"]
    for path in ("config.json", "../../etc/passwd", "%2e%2e/%2e%2e/etc/passwd", "grid-x/", "api/", "report.html"):
        assert _get(url + path)[0] == 404, path
    assert _get(url + "api/version", host="attacker.example:80")[0] == 421  # DNS rebinding


def test_a_port_in_use_is_one_line_and_exit_2(results_tree):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = invoke("view", "--results-dir", results_tree, "--port", port, expect=2)
    assert result.output.strip() == f"error: port {port} on 127.0.0.1 is in use; choose another with --port"


def test_plot_diagnostics_draws_the_heatmaps(results_tree, tmp_path):
    run = next(p for p in results_tree.iterdir() if p.name.endswith("-diag"))
    for name in ("heat.png", "heat.svg"):
        invoke("plot", run, "--diagnostics", "--out", tmp_path / name)
    assert (tmp_path / "heat.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (tmp_path / "heat.svg").read_bytes()
    trial = next((results_tree / "tiny-lr").glob("*/trials/*"))
    result = invoke("plot", trial, "--diagnostics", "--out", tmp_path / "none.png", expect=2)
    assert "train it with --diagnostics" in result.output
