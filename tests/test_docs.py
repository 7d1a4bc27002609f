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


def test_links_between_the_documents_lead_somewhere():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "experiments" / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"


def test_the_readme_begins_with_its_two_commands_and_stays_short():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)\n```", text, re.S)
    assert blocks[:2] == ["pip install -e . && nnctl train", 'pip install -e ".[test]" && python -m pytest']
    assert len(text.splitlines()) <= 350
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1] in ci.splitlines()  # CI runs the README's test command exactly as written
