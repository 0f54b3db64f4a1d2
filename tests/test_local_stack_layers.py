"""local_stack/'s layers (its package docstring): no module imports a higher layer, and nothing imports in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "local_stack"
LAYERS = {
    "errors": 1,
    "services": 2,
    "snowpipe": 3,
    "tasks": 3,
    "streaming": 4,
    "emulators": 5,
    "account": 6,
    "engine": 7,
    "shopping": 8,
    "streaming_producer": 9,
    "stack": 9,
    "producer": 10,
    "cli": 11,
    "harness": 11,
    "transformations_harness": 11,
}


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every local_stack module the file imports, at any depth (function-level imports count)."""
    modules = {_module(p) for p in PACKAGE.rglob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("local_stack"):
            submodules = {f"{node.module}.{a.name}" for a in node.names} & modules
            # `from package import module` loads the module (the package is already initialised).
            found.update(submodules or {node.module})
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("local_stack"))
    return found & modules


def _layer(module: str) -> tuple[str, int]:
    part = module.split(".")[1] if "." in module else "__init__"
    return part, LAYERS.get(part, 0)


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in map(_module, PACKAGE.rglob("*.py")) if m != "local_stack" and _layer(m)[1] == 0)
    assert unplaced == [], f"modules outside the layers of local_stack/__init__.py: {unplaced}"


def test_no_module_imports_a_higher_layer_or_a_peer_package():
    upward = []
    for path in PACKAGE.rglob("*.py"):
        importer = _module(path)
        if importer == "local_stack":
            continue
        own, level = _layer(importer)
        for imported in _imports(path):
            other, other_level = _layer(imported)
            if other_level > level or (other_level == level and other != own):
                upward.append(f"{importer} -> {imported}")
    assert upward == [], "imports against the layering:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    graph = {_module(p): {m for m in _imports(p) if m != _module(p)} for p in PACKAGE.rglob("*.py")}
    visiting, done, cycles = set(), set(), []

    def visit(node: str, trail: list[str]) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(" -> ".join([*trail[trail.index(node) :], node]))
            return
        visiting.add(node)
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*trail, node])
        visiting.discard(node)
        done.add(node)

    for module in sorted(graph):
        visit(module, [])
    assert cycles == [], f"import cycles: {cycles}"
