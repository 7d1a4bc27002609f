"""A local file server and small datasets in the real formats, for the download tests.

:class:`FileServer` is ``http.server`` in a thread on 127.0.0.1 (a free port), serving bytes from a
dict and honouring ``Range: bytes=N-`` with 206 answers. It can misbehave on purpose: ``cuts[path]``
lists, request by request, after how many body bytes to close the connection (``None``: send it
all), and ``ignore_range`` answers every request with the whole file (200). Each test starts its own
and stops it (``stop``), so no test reaches beyond this machine.

:func:`tiny_mnist` and :func:`tiny_cifar` build a few images in the MNIST IDX and CIFAR-10 binary
formats; :func:`catalog_for` makes the catalog entry that points nnctl's fetch at them.
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from nnctl.data.catalog import RemoteDataset, RemoteFile
from nnctl.data.idx import IDX_FILES, write_idx


class FileServer:
    def __init__(self, files: dict[str, bytes] | None = None):
        self.files: dict[str, bytes] = dict(files or {})
        self.cuts: dict[str, list[int | None]] = {}
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                owner.requests.append((self.path, self.headers.get("Range")))
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not owner.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416, "Range Not Satisfiable")
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                cuts = owner.cuts.get(self.path)
                cut = cuts.pop(0) if cuts else None
                payload = body[start:] if cut is None else body[start : start + cut]
                self.wfile.write(payload)
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def requested(self, path: str) -> list[str | None]:
        """The Range headers of the requests for ``path``, in order (None: no Range)."""
        return [rng for p, rng in self.requests if p == path]

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on: a server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def tiny_mnist(directory: Path, n_train: int = 40, n_test: int = 20) -> dict[str, bytes]:
    """The four gzipped IDX files of a small MNIST-format set (28x28 uint8), written to ``directory``."""
    rng = np.random.default_rng(1)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = [
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        np.arange(n_train, dtype=np.uint8) % 10,
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        np.arange(n_test, dtype=np.uint8) % 10,
    ]
    out = {}
    for base, array in zip(IDX_FILES, arrays):
        write_idx(directory / f"{base}.gz", array)
        out[f"{base}.gz"] = (directory / f"{base}.gz").read_bytes()
    return out


CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR_BATCHES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def cifar_records(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """``n`` CIFAR-10 binary records: (bytes, labels, pixels (n, 3, 32, 32) uint8)."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) + seed) % 10
    pixels = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    records = np.concatenate([labels[:, None].astype(np.uint8), pixels.reshape(n, -1)], axis=1)
    return records.tobytes(), labels, pixels


def tar_bytes(members: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> bytes:
    """A .tar.gz of regular files ``members`` (name, content) and symbolic links ``links`` (name -> target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


def tiny_cifar(per_batch: int = 4) -> tuple[bytes, np.ndarray, np.ndarray]:
    """A small ``cifar-10-binary.tar.gz`` in the real layout: (archive bytes, labels, pixels) with the
    five training batches first and the test batch last, as the loader returns them."""
    members, labels, pixels = [], [], []
    for seed, name in enumerate(CIFAR_BATCHES):
        data, y, x = cifar_records(per_batch, seed)
        members.append((f"cifar-10-batches-bin/{name}", data))
        labels.append(y)
        pixels.append(x)
    members.append(("cifar-10-batches-bin/batches.meta.txt", ("\n".join(CIFAR_CLASSES) + "\n\n").encode()))
    members.append(("cifar-10-batches-bin/readme.html", b"<html>not read</html>"))
    return tar_bytes(members), np.concatenate(labels), np.concatenate(pixels)


def catalog_for(name: str, files: dict[str, bytes], mirrors: tuple[str, ...]) -> RemoteDataset:
    """A catalog entry for ``files`` with their true sizes and checksums, served by ``mirrors``."""
    return RemoteDataset(
        name=name,
        files=tuple(RemoteFile(n, len(b), hashlib.sha256(b).hexdigest()) for n, b in files.items()),
        mirrors=mirrors,
        homepage="a test server on 127.0.0.1",
    )
