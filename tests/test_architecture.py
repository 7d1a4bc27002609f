"""The shape of the code: layers import only downwards, no module imports one that imports it back,
and modules stay small enough to read in one sitting."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nnctl"
#: the layers, lowest first; a module may import from its own layer and the layers below it
LAYERS = [
    "version",
    "core",
    "data",
    "training",
    "results",
    "search",
    "experiments",
    "report",
    "workflows",
    "api",
    "cli",
]
MAX_LINES = 410


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str) -> set[str]:
    """The nnctl modules ``name`` imports (anywhere in the file: a lazy import is still a dependency)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):  # imports only type checkers see are no dependency
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("nnctl")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if not base.startswith("nnctl"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports(name) for name in MODULES}


def layer(name: str) -> int | None:
    parts = name.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def test_no_module_imports_one_that_imports_it_back():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_layers_import_only_downwards():
    wrong = []
    for name, targets in GRAPH.items():
        mine = layer(name)
        if mine is None:
            continue
        wrong += [f"{name} -> {t}" for t in targets if layer(t) is not None and layer(t) > mine]
    assert not wrong, wrong


def test_the_core_and_the_training_know_nothing_of_the_terminal():
    for name, path in MODULES.items():
        if layer(name) is not None and layer(name) <= LAYERS.index("training"):
            text = path.read_text()
            assert "import typer" not in text and "from rich" not in text and "import rich" not in text, name


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_small(name):
    assert len(MODULES[name].read_text().splitlines()) <= MAX_LINES, name


def test_starting_the_cli_imports_no_heavy_library():
    """`nnctl --help` must start fast: pandas, matplotlib, SciPy and scikit-learn wait until a
    command needs them."""
    import subprocess
    import sys

    code = "import sys, nnctl.cli.app; print(' '.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    heavy = {m for m in loaded if m.split(".")[0] in ("pandas", "matplotlib", "scipy", "sklearn", "pydantic", "torch")}
    assert not heavy, sorted(heavy)[:10]
