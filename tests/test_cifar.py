"""CIFAR-10 from its binary distribution: the layout, and archives that must not be trusted.

The archives are small ones the tests build in the real format (fetch_server.tiny_cifar); members are
read out of the archive, never extracted, so no test may find a file written outside tmp_path.
"""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest
from fetch_server import CIFAR_BATCHES, CIFAR_CLASSES, cifar_records, tar_bytes, tiny_cifar

from nnctl.core.errors import DataError
from nnctl.data import load_dataset, split_dataset
from nnctl.data.cifar import RECORD

META = ("cifar-10-batches-bin/batches.meta.txt", "\n".join(CIFAR_CLASSES).encode())


def archive_dir(tmp_path, data: bytes, name: str = "c"):
    """A folder holding ``data`` as cifar-10-binary.tar.gz."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "cifar-10-binary.tar.gz").write_bytes(data)
    return folder


def batches(per_batch=2):
    return [(f"cifar-10-batches-bin/{n}", cifar_records(per_batch, i)[0]) for i, n in enumerate(CIFAR_BATCHES)]


def test_the_binary_tarball_reads_as_channels_first_images_in_the_mnist_convention(tmp_path):
    archive, labels, pixels = tiny_cifar(per_batch=5)
    ds = load_dataset(f"cifar10:path={archive_dir(tmp_path, archive)}")
    assert ds.X.shape == (30, 3, 32, 32) and ds.X.dtype == np.float32 and ds.source_dtype == "uint8"
    assert 0.0 <= ds.X.min() and ds.X.max() <= 1.0
    # record = label byte, then 1024 red, 1024 green, 1024 blue bytes: channel 0 is red
    assert np.array_equal(ds.X, pixels.astype(np.float32) / np.float32(255))
    assert np.array_equal(ds.y, labels) and ds.classes == CIFAR_CLASSES
    # like MNIST, train batches then the test batch in one dataset; the splits are drawn from all
    splits = split_dataset(ds, val_split=0.1, test_split=0.2, seed=0)
    assert sum(splits.sizes().values()) == 30 and splits.X_train.shape[1:] == (3, 32, 32)


def test_an_extracted_folder_reads_the_same(tmp_path):
    archive, labels, pixels = tiny_cifar()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar:
            target = tmp_path / "x" / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(tar.extractfile(member).read())
    from_folder = load_dataset(f"cifar10:path={tmp_path / 'x'}")
    from_archive = load_dataset(f"cifar10:path={archive_dir(tmp_path, archive)}")
    assert np.array_equal(from_folder.X, from_archive.X) and np.array_equal(from_folder.y, labels)
    with pytest.raises(
        DataError,
        match=r"cifar10: no CIFAR-10 files in '.*'; expected cifar-10-binary.tar.gz, "
        r"or data_batch_1.bin .*run 'nnctl data fetch cifar10'",
    ):
        load_dataset(f"cifar10:path={tmp_path}")


def test_links_and_traversal_in_the_archive_are_never_followed_or_written(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    links = {"cifar-10-batches-bin/data_batch_1.bin": "/etc/passwd"}
    data = tar_bytes([m for m in batches() if not m[0].endswith("data_batch_1.bin")] + [META], links)
    with pytest.raises(DataError, match=r"member 'cifar-10-batches-bin/data_batch_1.bin' is a link or special file"):
        load_dataset(f"cifar10:path={archive_dir(tmp_path, data)}")
    # a member named to climb out of the folder is not one of the batches: ignored, never written
    evil = [("../../outside/data_batch_1.bin", cifar_records(2, 0)[0])] + batches()[1:] + [META]
    folder = archive_dir(tmp_path, tar_bytes(evil), "e")
    with pytest.raises(DataError, match=r"lacks data_batch_1.bin; expected cifar-10-binary.tar.gz"):
        load_dataset(f"cifar10:path={folder}")
    assert list(outside.iterdir()) == [] and sorted(p.name for p in folder.iterdir()) == ["cifar-10-binary.tar.gz"]


def test_sizes_duplicates_and_damage_are_refused_before_reading(tmp_path):
    odd = batches()
    odd[2] = (odd[2][0], odd[2][1][:-7])  # not a whole number of records
    with pytest.raises(
        DataError,
        match=rf"data_batch_3.bin has {2 * RECORD - 7} bytes, not a whole number of "
        rf"{RECORD}-byte records",
    ):
        load_dataset(f"cifar10:path={archive_dir(tmp_path, tar_bytes(odd + [META]))}")
    twice = batches() + [batches()[0], META]
    with pytest.raises(DataError, match="holds data_batch_1.bin twice"):
        load_dataset(f"cifar10:path={archive_dir(tmp_path, tar_bytes(twice), 'd')}")
    archive = tiny_cifar()[0]
    with pytest.raises(DataError, match=r"is not a readable .tar.gz archive .*; download it again"):
        load_dataset(f"cifar10:path={archive_dir(tmp_path, archive[: len(archive) // 2], 't')}")
    labels = batches()
    labels[0] = (labels[0][0], bytes([12]) + labels[0][1][1:])
    with pytest.raises(DataError, match=r"data_batch_1.bin has label 12 but batches.meta.txt names 10 classes"):
        load_dataset(f"cifar10:path={archive_dir(tmp_path, tar_bytes(labels + [META]), 'l')}")
