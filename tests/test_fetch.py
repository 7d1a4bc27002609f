"""Downloading datasets once: verified, resumed, retried a bounded number of times, never half-fetched.

Every test serves small files in the real formats from its own server on 127.0.0.1 (fetch_server.py)
and points the catalog at them; nothing here reaches the internet.
"""

from __future__ import annotations

import fcntl
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from fetch_server import FileServer, catalog_for, closed_port_url, tiny_cifar, tiny_mnist

from nnctl.core.errors import ConfigError, DataError, RunFailure
from nnctl.data import catalog, load_dataset
from nnctl.data.catalog import CATALOG, cache_status, data_home, dataset_dir
from nnctl.data.fetch import fetch, mirror_urls

FAST = {"retries": 2, "backoff": 0.0, "timeout": 5.0}


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
def mnist_files(tmp_path, server, monkeypatch):
    """A tiny MNIST-format set served at /mnist/ and the catalog's mnist entry pointing at it."""
    files = tiny_mnist(tmp_path / "source")
    for name, data in files.items():
        server.files[f"/mnist/{name}"] = data
    monkeypatch.setitem(CATALOG, "mnist", catalog_for("mnist", files, (server.url + "/mnist/",)))
    return files


def leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def test_a_good_download_is_verified_and_found_by_the_loader(cache, server, mnist_files):
    events = []
    result = fetch("mnist", progress=events.append, **FAST)
    directory = cache / "mnist"
    assert result.directory == directory and result.downloaded == list(mnist_files) and not result.cached
    assert result.bytes_downloaded == sum(len(b) for b in mnist_files.values())
    for name, data in mnist_files.items():
        assert (directory / name).read_bytes() == data
    assert leftovers(directory) == []
    kinds = [e.kind for e in events]
    assert kinds.count("done") == 4 and "start" in kinds and "bytes" in kinds and "retry" not in kinds
    assert all(e.done <= e.total for e in events)
    assert cache_status("mnist", verify=True).state == "fetched"
    # the loader finds the cache with no path, exactly as mnist:path=DIR reads the same files
    ds = load_dataset("mnist")
    assert ds.X.shape == (60, 1, 28, 28) and ds.name == "mnist:path=auto"
    assert np.array_equal(ds.X, load_dataset(f"mnist:path={directory}").X)
    # fetched once: a second fetch checks the checksums and downloads nothing
    before = len(server.requests)
    again = fetch("mnist", **FAST)
    assert again.cached == list(mnist_files) and not again.downloaded and len(server.requests) == before


def test_a_truncated_transfer_is_resumed_with_a_range_request(cache, server, mnist_files):
    path = "/mnist/train-images-idx3-ubyte.gz"
    size = len(mnist_files["train-images-idx3-ubyte.gz"])
    server.cuts[path] = [1000, 3000]  # the server closes early twice, then sends the rest
    events = []
    fetch("mnist", progress=events.append, **FAST)
    assert server.requested(path) == [None, "bytes=1000-", "bytes=4000-"]
    assert (cache / "mnist" / "train-images-idx3-ubyte.gz").read_bytes() == mnist_files["train-images-idx3-ubyte.gz"]
    retries = [e for e in events if e.kind == "retry"]
    assert len(retries) == 2 and f"stopped at 1000 of {size} bytes" in retries[0].message
    assert leftovers(cache / "mnist") == []


def test_a_server_that_ignores_range_sends_the_whole_file_again(cache, server, mnist_files):
    path = "/mnist/train-images-idx3-ubyte.gz"
    server.cuts[path] = [1000]
    server.ignore_range = True
    result = fetch("mnist", **FAST)
    assert server.requested(path) == [None, "bytes=1000-"]
    assert result.bytes_downloaded == 1000 + sum(len(b) for b in mnist_files.values())  # counted as received
    assert cache_status("mnist", verify=True).state == "fetched"


def test_a_broken_download_survives_the_process_and_the_next_fetch_resumes_it(cache, server, mnist_files):
    path = "/mnist/train-images-idx3-ubyte.gz"
    server.cuts[path] = [500, 500]
    with pytest.raises(RunFailure, match=r"cannot fetch mnist: .*stopped at 1000 of \d+ bytes \(2 tries\)"):
        fetch("mnist", retries=1, backoff=0.0, timeout=5.0)
    directory = cache / "mnist"
    assert not (directory / "train-images-idx3-ubyte.gz").exists()  # nothing half-written looks fetched
    assert (directory / "train-images-idx3-ubyte.gz.part").stat().st_size == 1000
    status = cache_status("mnist")
    assert status.state == "partial" and status.bytes_present == 1000
    with pytest.raises(
        DataError, match=r"the download of mnist in .* is incomplete .*run 'nnctl data fetch mnist' to finish it"
    ):
        load_dataset("mnist")
    fetch("mnist", **FAST)
    assert server.requested(path)[-1] == "bytes=1000-"
    assert cache_status("mnist", verify=True).state == "fetched"


def test_a_corrupt_part_is_discarded_and_the_file_downloaded_from_the_start(cache, server, mnist_files):
    directory = cache / "mnist"
    directory.mkdir(parents=True)
    (directory / "train-images-idx3-ubyte.gz.part").write_bytes(b"garbage from somewhere else" * 10)
    fetch("mnist", **FAST)
    assert server.requested("/mnist/train-images-idx3-ubyte.gz") == ["bytes=270-", None]
    assert cache_status("mnist", verify=True).state == "fetched" and leftovers(directory) == []


def test_a_corrupted_cached_file_is_detected_and_replaced(cache, server, mnist_files):
    fetch("mnist", **FAST)
    target = cache / "mnist" / "t10k-images-idx3-ubyte.gz"
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF  # same size, one byte flipped
    target.write_bytes(bytes(data))
    assert cache_status("mnist").state == "fetched"  # sizes alone cannot tell
    assert cache_status("mnist", verify=True).state == "corrupt"
    result = fetch("mnist", **FAST)
    assert result.downloaded == ["t10k-images-idx3-ubyte.gz"] and len(result.cached) == 3
    assert target.read_bytes() == mnist_files["t10k-images-idx3-ubyte.gz"]


def test_a_file_whose_checksum_does_not_match_is_refused_and_removed(cache, server, mnist_files, monkeypatch):
    entry = CATALOG["mnist"]
    wrong = entry.files[0].__class__(entry.files[0].name, entry.files[0].size, "0" * 64)
    monkeypatch.setitem(CATALOG, "mnist", entry.__class__("mnist", (wrong,) + entry.files[1:], entry.mirrors, ""))
    with pytest.raises(RunFailure) as info:
        fetch("mnist", **FAST)
    message = str(info.value)
    assert "cannot fetch mnist:" in message and "train-images-idx3-ubyte.gz" in message
    assert f"the published one is {'0' * 64}" in message and "pass --mirror URL" in message
    assert len(message.splitlines()) == 1
    # a whole download that is wrong is not retried: the mirror serves another file
    assert server.requested("/mnist/train-images-idx3-ubyte.gz") == [None]
    assert list((cache / "mnist").iterdir()) == []  # neither the file nor its part
    assert cache_status("mnist").state == "missing"


def test_a_server_that_is_down_fails_after_the_bounded_retries(cache, mnist_files):
    start = time.monotonic()
    with pytest.raises(
        RunFailure,
        match=r"cannot fetch mnist: http://127\.0\.0\.1:\d+/train-images-idx3-ubyte\.gz: "
        r"Connection refused \(3 tries\); check the connection",
    ):
        fetch("mnist", mirror=closed_port_url(), **FAST)
    assert time.monotonic() - start < 5
    assert list((cache / "mnist").iterdir()) == []


def test_retries_are_bounded_and_wait_longer_each_time(cache, server, mnist_files):
    path = "/mnist/train-images-idx3-ubyte.gz"
    server.ignore_range = True
    server.cuts[path] = [100] * 10  # every transfer breaks and none resumes
    waits = []
    start = time.monotonic()
    with pytest.raises(RunFailure, match=r"stopped at 100 of \d+ bytes \(4 tries\)"):
        fetch(
            "mnist",
            retries=3,
            backoff=0.01,
            timeout=5.0,
            progress=lambda e: e.kind == "retry" and waits.append(e.message),
        )
    assert len(server.requested(path)) == 4 and time.monotonic() - start < 5
    assert [w.rsplit(" in ", 1)[1] for w in waits] == ["0.01 s", "0.02 s", "0.04 s"]


def test_a_mirror_without_the_file_gives_way_to_the_next(cache, server, mnist_files, monkeypatch):
    server.files["/bad/train-images-idx3-ubyte.gz"] = b"<html>a different, shorter file</html>"
    entry = CATALOG["mnist"]
    mirrors = (server.url + "/missing/", server.url + "/bad/", server.url + "/mnist/")
    monkeypatch.setitem(CATALOG, "mnist", entry.__class__("mnist", entry.files, mirrors, ""))
    fetch("mnist", **FAST)
    assert server.requested("/missing/train-images-idx3-ubyte.gz") == [None]  # 404: not retried
    assert server.requested("/bad/train-images-idx3-ubyte.gz") == [None]  # wrong size: not downloaded
    assert cache_status("mnist", verify=True).state == "fetched"


def test_a_mirror_with_a_shorter_file_is_not_resumed_forever(cache, server, mnist_files):
    name = "train-images-idx3-ubyte.gz"
    size = len(mnist_files[name])
    server.files[f"/mnist/{name}"] = mnist_files[name][:-10]  # the mirror's copy lacks its last 10 bytes
    (cache / "mnist").mkdir(parents=True)
    (cache / "mnist" / f"{name}.part").write_bytes(mnist_files[name][:-5])
    with pytest.raises(
        RunFailure,
        match=rf"the server's file has {size - 10} bytes, the published size is {size} "
        r"\(2 tries\)",
    ):
        fetch("mnist", **FAST)
    # 416 for the part it cannot continue: the part is dropped, the whole file asked for, refused by size
    assert server.requested(f"/mnist/{name}") == [f"bytes={size - 5}-", None]
    assert not (cache / "mnist" / name).exists() and not (cache / "mnist" / f"{name}.part").exists()


DRIVER = """
import sys
from pathlib import Path
from fetch_server import FileServer, catalog_for
from nnctl.cli.app import app
from nnctl.data.catalog import CATALOG
from nnctl.data.idx import IDX_FILES

source = Path(sys.argv[1])
files = {name + ".gz": (source / (name + ".gz")).read_bytes() for name in IDX_FILES}
server = FileServer({"/m/" + name: data for name, data in files.items()})
CATALOG["mnist"] = catalog_for("mnist", files, (server.url + "/m/",))
try:
    app(["data", "fetch", "mnist"])
finally:
    server.stop()
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_a_disk_that_fills_during_a_download_is_one_line_and_the_part_resumes(tmp_path, cache, server, mnist_files):
    (tmp_path / "drive.py").write_text(textwrap.dedent(DRIVER))
    limit = 8192  # the first file (about 31 kB) does not fit

    def small_disk():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "drive.py"), str(tmp_path / "source")],
        env=env,
        preexec_fn=small_disk,
        capture_output=True,
        text=True,
        timeout=60,
    )
    part = cache / "mnist" / "train-images-idx3-ubyte.gz.part"
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert proc.stderr.strip() == (
        f"error: cannot write '{part}': File too large; free some space and fetch again (the download resumes)"
    )
    kept = part.stat().st_size
    assert 0 < kept <= limit and not (cache / "mnist" / "train-images-idx3-ubyte.gz").exists()
    fetch("mnist", **FAST)  # room again: the part is continued, not started over
    assert server.requested("/mnist/train-images-idx3-ubyte.gz") == [f"bytes={kept}-"]
    assert cache_status("mnist", verify=True).state == "fetched"


def test_cifar10_is_fetched_as_its_binary_tarball_and_loaded_from_the_cache(cache, server, monkeypatch):
    archive, labels, pixels = tiny_cifar()
    server.files["/kriz/cifar-10-binary.tar.gz"] = archive
    monkeypatch.setitem(CATALOG, "cifar10", catalog_for("cifar10", {"cifar-10-binary.tar.gz": archive}, ()))
    with pytest.raises(DataError, match=r"cifar10 is not downloaded into .*run 'nnctl data fetch cifar10'"):
        load_dataset("cifar10")
    fetch("cifar10", mirror=server.url + "/kriz/cifar-10-binary.tar.gz", **FAST)  # a file URL names its folder
    ds = load_dataset("cifar10")
    assert ds.X.shape == (24, 3, 32, 32) and ds.X.dtype == np.float32 and ds.classes[0] == "airplane"
    assert np.array_equal(ds.y, labels) and np.array_equal(ds.X, pixels.astype(np.float32) / np.float32(255))


def test_two_fetches_of_one_dataset_never_write_at_once(cache, server, mnist_files):
    directory = dataset_dir("mnist")
    directory.mkdir(parents=True)
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another fetch holds it
        with pytest.raises(RunFailure, match="mnist is being fetched by another nnctl process"):
            fetch("mnist", **FAST)
    finally:
        os.close(fd)
    assert server.requests == []


def test_bad_names_mirrors_and_cache_folders_are_config_errors(tmp_path, monkeypatch):
    with pytest.raises(
        ConfigError,
        match=r"unknown dataset 'mnsit' to fetch; valid: mnist, fashion_mnist, cifar10; did you mean 'mnist'\?",
    ):
        fetch("mnsit")
    with pytest.raises(
        ConfigError, match=r"mirror 'ftp://example.org/' is not allowed; expected an http:// or https:// URL"
    ):
        fetch("mnist", mirror="ftp://example.org/")
    assert mirror_urls(CATALOG["mnist"], "https://example.org/m") == ("https://example.org/m/",)
    assert mirror_urls(CATALOG["mnist"], "https://example.org/m/t10k-labels-idx1-ubyte.gz") == (
        "https://example.org/m/",
    )
    (tmp_path / "a-file").write_text("x")
    monkeypatch.setenv("NNCTL_DATA", str(tmp_path / "a-file"))
    with pytest.raises(ConfigError, match=r"cannot create the data cache '.*a-file/mnist': .*; set NNCTL_DATA"):
        fetch("mnist")


def test_the_cache_folder_follows_nnctl_data_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("NNCTL_DATA", str(tmp_path / "mine"))
    assert data_home() == tmp_path / "mine" and catalog.dataset_dir("cifar10") == tmp_path / "mine" / "cifar10"
    monkeypatch.delenv("NNCTL_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_home() == tmp_path / "xdg" / "nnctl" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_home() == tmp_path / "home" / ".cache" / "nnctl" / "data"


def test_the_published_table_is_complete():
    """Sizes and checksums as tensorflow-datasets publishes them (see the comments in catalog.py)."""
    assert {n: (len(d.files), d.size) for n, d in CATALOG.items()} == {
        "mnist": (4, 11594722),
        "fashion_mnist": (4, 30878645),
        "cifar10": (1, 170052171),
    }
    for spec in CATALOG.values():
        assert all(len(f.sha256) == 64 and int(f.sha256, 16) for f in spec.files)
        assert all(m.startswith(("https://", "http://")) and m.endswith("/") for m in spec.mirrors)
