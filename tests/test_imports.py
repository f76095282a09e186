"""Package hygiene of toolchain/: no module imports a `_private` name from another package,
and the import graph (every import statement, deferred ones included) has no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

TOOLCHAIN = Path(__file__).resolve().parents[1] / "toolchain"


def _modules() -> dict[str, Path]:
    out = {}
    for f in sorted(TOOLCHAIN.rglob("*.py")):
        parts = f.relative_to(TOOLCHAIN.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return out


MODULES = _modules()


def _package(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(module, imported name or None, line) for every toolchain import in the file."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(a.name, None, node.lineno) for a in node.names if a.name.startswith("toolchain")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("toolchain"):
            out += [(node.module, a.name, node.lineno) for a in node.names]
    return out


def test_no_private_names_imported_across_packages() -> None:
    bad = []
    for mod, path in MODULES.items():
        pkg = _package(mod, path)
        module_aliases: dict[str, str] = {}  # local name -> toolchain module, for attribute access
        for target, name, line in _imports(path):
            if name is not None and f"{target}.{name}" in MODULES:
                module_aliases[name] = f"{target}.{name}"
            elif name is not None and _private(name):
                if _package(target, MODULES.get(target, Path("x.py"))) != pkg:
                    bad.append(f"{path.relative_to(TOOLCHAIN.parent)}:{line} imports {target}.{name}")
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr)
                    and node.value.id in module_aliases):
                target = module_aliases[node.value.id]
                if _package(target, MODULES[target]) != pkg:
                    bad.append(f"{path.relative_to(TOOLCHAIN.parent)}:{node.lineno} uses {target}.{node.attr}")
    assert not bad, "\n".join(bad)


def _graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for mod, path in MODULES.items():
        for target, name, _ in _imports(path):
            dest = f"{target}.{name}" if name and f"{target}.{name}" in MODULES else target
            if dest in MODULES and dest != mod:
                edges[mod].add(dest)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_import_graph_has_no_cycles() -> None:
    assert _cycles(_graph()) == []


def test_only_the_entry_point_imports_the_cli() -> None:
    # subsystem commands (train/commands.py ...) are loaded by the CLI, never the reverse
    assert [m for m, deps in _graph().items() if "toolchain.cli" in deps] == []


def test_the_library_does_not_import_pytest() -> None:
    # test support that needs pytest lives in tests/fixtures/
    bad = [m for m, path in MODULES.items()
           if any(isinstance(n, (ast.Import, ast.ImportFrom)) and "pytest" in
                  ([a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""])
                  for n in ast.walk(ast.parse(path.read_text())))]
    assert bad == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
