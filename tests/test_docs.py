"""The documents name real things: every test docs/reliability.md cites exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_named_in_reliability_md_exists():
    text = (ROOT / "docs" / "reliability.md").read_text()
    pairs = set(re.findall(r"`(test_\w+)::(test_\w+)", text))
    assert len(pairs) > 20
    for module, test in sorted(pairs):
        source = (ROOT / "tests" / f"{module}.py").read_text()
        assert re.search(rf"def {test}\b", source), f"{module}::{test}"
