"""The house rules of the code's layout, read from its imports.

Every import of ``gateway/`` and ``adapters/`` counts, those made only for type checking
and those inside functions included: a layer that imports another for its types still
depends on it. The one cycle allowed is strawberry's lazy type reference (a type that
names another module's type by string, imported only inside its resolver).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "adapters")

# (importer prefix, imported prefix): arrows that must never exist.
FORBIDDEN = [
    *[
        ("adapters", p)
        for p in (
            "gateway.schema",
            "gateway.identity",
            "gateway.http",
            "gateway.cli",
            "strawberry",
            "starlette",
        )
    ],
    *[
        (layer, p)
        for layer in (
            "gateway.policies",
            "gateway.identity",
            "gateway.stores",
            "gateway.records",
            "gateway.writes",
            "gateway.runtime",
            "gateway.reports",
            "gateway.domain",
            "gateway.config",
        )
        for p in ("gateway.schema", "gateway.http", "gateway.cli", "strawberry")
    ],
    *[
        ("gateway.domain", p)
        for p in (
            "gateway.policies",
            "gateway.stores",
            "gateway.records",
            "gateway.identity",
            "gateway.runtime",
            "adapters",
        )
    ],
    *[
        (layer, "adapters")
        for layer in (
            "gateway.policies",
            "gateway.stores",
            "gateway.records",
            "gateway.writes",
            "gateway.schema",
            "gateway.identity",
            "gateway.reports",
        )
    ],
]
# Global ids are Relay's (base64 of ``Type:id``); strawberry's GlobalID encodes them, so the
# ids a write audits and a mention names are byte for byte the ones the schema serves.
ALLOWED = {("gateway.domain.ids", "strawberry.relay")}
# strawberry.lazy("gateway.schema.invitations") in gateway/schema/types.py.
# strawberry.lazy("gateway.schema.escalation") for Question.escalation, likewise.
LAZY = {
    ("gateway.schema.types", "gateway.schema.invitations"),
    ("gateway.schema.types", "gateway.schema.escalation"),
}
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The modules of this tree (or, for third parties, the top names) it imports."""
    out: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                full = f"{base}.{alias.name}"
                out.add(full if full in MODULES else base)
    return out


GRAPH = {name: {i for i in _imports(name, path)} for name, path in MODULES.items()}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_no_forbidden_arrow() -> None:
    broken = sorted(
        f"{importer} -> {imported}"
        for importer, imports in GRAPH.items()
        for imported in imports
        for src, dst in FORBIDDEN
        if _under(importer, src) and _under(imported, dst) and (importer, imported) not in ALLOWED
    )
    assert broken == []


def test_no_import_cycle() -> None:
    edges = {
        name: {i for i in imports if i in MODULES and i != name and (name, i) not in LAZY}
        for name, imports in GRAPH.items()
    }
    # A package's __init__ re-exporting its own modules is not a cycle of concerns.
    for name in edges:
        edges[name] = {i for i in edges[name] if not _under(i, name) and not _under(name, i)}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert [" -> ".join(c) for c in cycles] == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_500_lines(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name].relative_to(ROOT)} has {lines} lines"
