"""The library's layering (../shared/GUIDE.md §2): each module imports only from its own layer or lower ones,
and no chain of imports leads back to where it started.

The imports are read from the source (every ``import`` statement, also those inside functions), so a new
upward import or a cycle fails here with the modules named, before it can fail at import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "minigrad"

# Lowest first. A module belongs to the layer of its longest listed prefix.
LAYERS = [
    ["minigrad.errors", "minigrad.version"],
    ["minigrad.anomaly"],
    ["minigrad.kernels", "minigrad.random", "minigrad.parallel", "minigrad.text"],
    ["minigrad.engine"],
    ["minigrad.ops"],
    ["minigrad.creation", "minigrad.gradcheck", "minigrad.profiler"],
    ["minigrad.nn"],
    ["minigrad.optim", "minigrad.data", "minigrad.serialization"],
    ["minigrad.datasets", "minigrad.models", "minigrad.diagnostics"],
    ["minigrad"],  # the package itself: the public API, re-exported from everything above
    ["minigrad.viz", "minigrad.demo"],  # users of the public API
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The minigrad modules that ``name`` imports. ``from package import x`` counts as importing the
    module ``package.x`` when there is one, else ``package``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # a relative import: from the package, one level up per extra dot
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def layer_of(name: str) -> int:
    matches = [(len(prefix), i) for i, layer in enumerate(LAYERS) for prefix in layer
               if name == prefix or name.startswith(prefix + ".")]
    assert matches, f"{name} is in no layer: add it to LAYERS in {Path(__file__).name}"
    return max(matches)[1]


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (the first repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return [*path[path.index(target):], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_no_module_imports_from_a_higher_layer():
    upward = [f"{name} (layer {layer_of(name)}) imports {target} (layer {layer_of(target)})"
              for name, targets in import_graph().items() for target in sorted(targets)
              if layer_of(target) > layer_of(name)]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_there_is_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_engine_imports_no_operation():
    """The cycle this test was written against: Tensor's methods find minigrad.ops at call time."""
    assert not {t for t in import_graph()["minigrad.engine"] if t.startswith("minigrad.ops")}


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
    ({"a": {"b"}, "b": {"b"}}, ["b", "b"]),
])
def test_find_cycle_finds_cycles(graph, expected):
    assert find_cycle(graph) == expected
