"""docs/design.md's layering, read from the source: the core never imports the UI, the UI never talks to AWS or SSH,
and no module imports itself back through others.

models/ and steps/ must run headless (the CLI, the exports, the tests), so they never import textual or tui.
tui/ reaches boto3, botocore, moto and asyncssh only through steps/ (and the embedded sandbox).
Imports inside functions count for cycles too: deferring an import hides a cycle from Python, not from a reader.
A module that defers imports for start-up time says so ("start-up time").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: The import package's folders (pyproject.toml maps each into vpc_mirror).
FOLDERS = {"vpc_mirror": ROOT / "vpc_mirror", "vpc_mirror.models": ROOT / "models", "vpc_mirror.steps": ROOT / "steps",
           "vpc_mirror.tui": ROOT / "tui", "vpc_mirror.sandbox": ROOT / "sandbox"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions count too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def top_level(module: str) -> str:
    """The layer a module belongs to: ``vpc_mirror.tui.app`` -> ``tui``, ``boto3.session`` -> ``boto3``."""
    parts = module.split(".")
    return parts[1] if parts[0] == "vpc_mirror" and len(parts) > 1 else parts[0]


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        hits = sorted(m for m in imported_modules(path) if top_level(m) in forbidden)
        if hits:
            bad[str(path.relative_to(ROOT))] = hits
    return bad


@pytest.mark.parametrize("package", ["models", "steps"])
def test_the_core_never_imports_the_ui(package):
    assert offenders(package, ("textual", "tui", "rich")) == {}


def test_the_ui_reaches_aws_and_ssh_only_through_steps():
    assert offenders("tui", ("boto3", "botocore", "asyncssh", "moto")) == {}


def test_the_check_sees_a_lazy_import(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from botocore.exceptions import ClientError\n")
    assert imported_modules(tmp_path / "m.py") == {"botocore.exceptions"}


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    found = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def import_graph(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports, at any depth; ``from pkg import name`` counts as
    ``pkg.name`` when that is a module, else as ``pkg``."""
    graph = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
            else:
                continue
            edges |= {t for t in targets if t in known and t != name}
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back():
    assert cycles(import_graph(modules())) == []


def test_the_cycle_check_sees_a_cycle_through_a_deferred_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_deferred_imports_say_why():
    """An import inside a function is there for start-up time only, and its module says so."""
    silent = []
    for name, path in sorted(modules().items()):
        tree = ast.parse(path.read_text(), str(path))
        deferred = [node for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))
                    for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))]
        if deferred and "start-up time" not in path.read_text():
            silent.append(name)
    assert silent == []
