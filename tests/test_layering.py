"""docs/design.md's layering, read from the source: the core never imports the UI, the UI never talks to AWS or SSH.

models/ and steps/ must run headless (the CLI, the exports, the tests), so they never import textual or tui.
tui/ reaches boto3, botocore, moto and asyncssh only through steps/ (and the embedded sandbox).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
