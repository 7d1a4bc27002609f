"""The four bundled datasets: the same arrays and names as scikit-learn, and no heavy imports."""

import gzip
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nnctl.data import load_dataset
from nnctl.data.builtin import BUNDLED, read_bundled

ROOT = Path(__file__).resolve().parent.parent
NAMES = {"digits": "load_digits", "iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer"}


@pytest.mark.parametrize("name", list(NAMES))
def test_bundled_datasets_equal_scikit_learns_bit_for_bit(name):
    skdatasets = pytest.importorskip("sklearn.datasets")
    bunch = getattr(skdatasets, NAMES[name])()
    ds = load_dataset(name)
    expected = np.asarray(bunch.data, dtype=np.float32)
    if name == "digits":
        expected = expected.reshape(-1, 1, 8, 8)
    assert ds.X.dtype == expected.dtype and ds.X.shape == expected.shape
    assert ds.X.tobytes() == expected.tobytes()  # bit for bit, not merely close
    assert ds.y.dtype == np.int64 and np.array_equal(ds.y, bunch.target)
    assert ds.classes == [str(c) for c in bunch.target_names]
    if name == "digits":
        assert ds.feature_names is None  # images: no per-pixel names, as before
    else:
        assert ds.feature_names == [str(f) for f in bunch.feature_names]
    # the float64 values before the cast are scikit-learn's exactly too
    X64 = read_bundled(name, header=name != "digits")[0]
    assert X64.tobytes() == np.asarray(bunch.data, dtype=np.float64).tobytes()


def test_bundled_files_are_the_ones_sources_md_describes():
    text = (BUNDLED / "SOURCES.md").read_text()
    listed = dict(re.findall(r"\| `(\w+\.csv\.gz)` \|[^|]*\| `([0-9a-f]{64})` \|", text))
    assert sorted(listed) == sorted(p.name for p in BUNDLED.glob("*.csv.gz")) and len(listed) == 4
    for name, digest in listed.items():
        assert hashlib.sha256(gzip.decompress((BUNDLED / name).read_bytes())).hexdigest() == digest


def test_bundled_shapes_and_classes_without_scikit_learn():
    shapes = {"digits": (1797, 1, 8, 8), "iris": (150, 4), "wine": (178, 13), "breast_cancer": (569, 30)}
    for name, shape in shapes.items():
        ds = load_dataset(name)
        assert ds.X.shape == shape and ds.n_classes == (10 if name == "digits" else 2 if name == "breast_cancer" else 3)
    assert load_dataset("cancer").classes == ["malignant", "benign"]
    assert load_dataset("digits").X.max() == 16.0


def _imported(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return {m.split(".")[0] for m in out.stdout.split()}


def test_importing_the_data_package_loads_no_heavy_library():
    heavy = {"sklearn", "scipy", "pandas", "matplotlib"}
    assert not heavy & _imported("nnctl.data")


def test_the_package_does_not_use_scikit_learn():
    uses = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "nnctl").rglob("*.py")
        if re.search(r"^\s*(import|from)\s+sklearn", p.read_text(), re.M)
    ]
    assert uses == []
