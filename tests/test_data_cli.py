"""`nnctl data fetch` and `nnctl data list` through the real CLI, against a server on 127.0.0.1.

The catalog's entries are pointed at small files in the real formats (fetch_server.py); the cache is
a folder under tmp_path (NNCTL_DATA), so no test touches the user's cache or the internet.
"""

from __future__ import annotations

import json

import pytest
from fetch_server import FileServer, catalog_for, closed_port_url, tiny_cifar, tiny_mnist
from helpers import error_line, invoke

from nnctl.data.catalog import CATALOG


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_DATA", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def server():
    srv = FileServer()
    yield srv
    srv.stop()


@pytest.fixture
def mnist_served(tmp_path, server, monkeypatch):
    files = tiny_mnist(tmp_path / "source")
    for name, data in files.items():
        server.files[f"/mnist/{name}"] = data
    monkeypatch.setitem(CATALOG, "mnist", catalog_for("mnist", files, (server.url + "/mnist/",)))
    return files


def run(*args, expect=0):
    """Kept: a wide terminal, so that long paths stay on one line."""
    return invoke(*args, expect=expect, env={"COLUMNS": "250"})


def test_fetched_mnist_then_trains_with_no_path(tmp_path, cache, mnist_served):
    listed = run("data", "list").stdout
    assert "mnist" in listed and "not fetched" in listed
    out = run("data", "fetch", "mnist").stdout
    assert "train-images-idx3-ubyte.gz" in out and "downloaded, SHA-256 verified" in out
    assert f"in {cache / 'mnist'}" in out and "nnctl train --data mnist" in out
    again = run("data", "fetch", "mnist").stdout
    assert again.count("already cached") == 5  # four files and the summary
    listed = run("data", "list", "--verify").stdout
    row = next(line for line in listed.splitlines() if line.split()[:1] == ["mnist"])
    assert "cached, verified" in row and str(cache / "mnist") in row
    assert "bundled" in listed and "digits" in listed
    result = run(
        "train",
        "--data",
        "mnist",
        "--epochs",
        "1",
        "--model",
        "mlp:8",
        "--quiet",
        "--results-dir",
        str(tmp_path / "results"),
    )
    run_dir = next((tmp_path / "results").iterdir())
    assert str(run_dir) in result.stdout
    config = json.loads((run_dir / "config.json").read_text())
    assert config["config"]["data"] == "mnist" and config["data"]["name"] == "mnist:path=auto"


def test_without_the_files_train_names_the_command_that_fixes_it(tmp_path, cache):
    for name, size in (("mnist", "11.6 MB"), ("fashion_mnist", "30.9 MB"), ("cifar10", "170.1 MB")):
        result = run("train", "--data", name, "--results-dir", str(tmp_path / "results"), expect=2)
        err = error_line(result)
        assert f"{name} is not downloaded into '{cache / name}'; run 'nnctl data fetch {name}' ({size})" in err
        assert f"or pass {name}:path=DIR" in err
    assert not (tmp_path / "results").exists()


def test_a_server_that_is_down_is_one_line_and_exit_1(cache, mnist_served):
    url = closed_port_url()
    result = run("data", "fetch", "mnist", "--mirror", url, "--retries", "0", expect=1)
    err = error_line(result)
    assert f"error: cannot fetch mnist: {url}train-images-idx3-ubyte.gz: Connection refused (1 try)" in err
    assert "pass --mirror URL" in err
    assert not any(p.is_file() for p in (cache / "mnist").iterdir())


def test_a_wrong_checksum_is_one_line_and_exit_1(cache, server, mnist_served, monkeypatch):
    server.files["/mnist/t10k-labels-idx1-ubyte.gz"] = b"x" * len(mnist_served["t10k-labels-idx1-ubyte.gz"])
    result = run("data", "fetch", "mnist", expect=1)
    err = error_line(result)
    assert "t10k-labels-idx1-ubyte.gz: its SHA-256 is" in err and "the mirror serves another file" in err
    assert {p.name for p in (cache / "mnist").iterdir()} == set(mnist_served) - {"t10k-labels-idx1-ubyte.gz"}
    listed = run("data", "list").stdout
    assert "partial: 3 of 4 file(s)" in listed


def test_a_truncated_transfer_is_completed_by_the_cli_and_shows_the_retry(cache, server, mnist_served):
    server.cuts["/mnist/train-images-idx3-ubyte.gz"] = [2000]
    out = run("data", "fetch", "mnist").stdout
    assert "retry train-images-idx3-ubyte.gz: the transfer stopped at 2000 of" in out
    assert server.requested("/mnist/train-images-idx3-ubyte.gz") == [None, "bytes=2000-"]


def test_cifar10_fetch_and_list(tmp_path, cache, server, monkeypatch):
    archive = tiny_cifar()[0]
    server.files["/c/cifar-10-binary.tar.gz"] = archive
    monkeypatch.setitem(
        CATALOG, "cifar10", catalog_for("cifar10", {"cifar-10-binary.tar.gz": archive}, (server.url + "/c/",))
    )
    assert run("data", "fetch", "cifar10", "--quiet").stdout.strip() == str(cache / "cifar10")
    row = next(line for line in run("data", "list").stdout.splitlines() if line.startswith(" cifar10"))
    assert "cached" in row and str(cache / "cifar10") in row
    run(
        "train",
        "--data",
        "cifar10",
        "--epochs",
        "1",
        "--model",
        "mlp:8",
        "--quiet",
        "--val-split",
        "0",
        "--test-split",
        "0",
        "--results-dir",
        str(tmp_path / "results"),
    )


def test_bad_names_and_mirrors_are_usage_errors(cache):
    err = error_line(run("data", "fetch", "cifar", expect=2))
    assert "unknown dataset 'cifar' to fetch; valid: mnist, fashion_mnist, cifar10; did you mean 'cifar10'?" in err
    err = error_line(run("data", "fetch", "mnist", "--mirror", "not a url", expect=2))
    assert "mirror 'not a url' is not allowed; expected an http:// or https:// URL" in err
    err = error_line(run("data", "fetch", "mnist", "--retries", "-1", expect=2))
    assert "--retries" in err
