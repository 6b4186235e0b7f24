"""The architecture DESIGN.md draws, checked on the imports of every module."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGES = ("search", "web", "bench", "tests")
# The read side: what serves a query never imports what writes an index.
READ_SIDE = ("search.engine.searcher", "search.engine.query", "search.engine.docsets")
READ_SIDE += ("search.engine.highlight", "search.engine.spelling", "search.engine.view", "web")
WRITE_SIDE = ("search.engine.writer", "search.engine.segments")
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each module of the project and the modules it imports (anywhere in its code)."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = _module_name(path)
            imported = found.setdefault(name, set())
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported.add(node.module)
                    imported |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


IMPORTS = _imports()


def _under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_only_the_engine_imports_whoosh():
    outside = sorted(
        name
        for name, imported in IMPORTS.items()
        if _under(name, "search", "web") and not _under(name, "search.engine")
        if any(_under(module, "whoosh") for module in imported)
    )
    assert outside == []


def _part(module: str) -> str | None:
    """The part of the product a module belongs to: a subpackage of search/ (clean, crawl,
    engine), a module of search/ itself, or web/; None for anything else."""
    parts = module.split(".")
    if parts[0] == "web":
        return "web"
    if parts[0] != "search" or len(parts) == 1:
        return None
    candidate = "search." + parts[1]
    return candidate if candidate in PARTS else None


PARTS = {_module_name(p) for p in (ROOT / "search").iterdir() if p.suffix == ".py" or p.is_dir()}
PARTS = {p for p in PARTS if not p.endswith("__pycache__") and p != "search"} | {"web"}


def test_the_parts_of_the_product_import_each_other_without_cycles():
    graph: dict[str, set[str]] = {part: set() for part in PARTS}
    for name, imported in IMPORTS.items():
        source = _part(name)
        if source is None:
            continue
        graph[source] |= {t for m in imported if (t := _part(m)) not in (None, source)}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        pytest.fail(f"an import cycle between parts of the product: {error.args[1]}")
    assert set(order) == PARTS
    assert "web" not in set().union(*(graph[p] for p in PARTS if p != "web"))


@pytest.mark.parametrize("reader", READ_SIDE)
def test_the_read_side_never_imports_the_writer(reader):
    for name, imported in IMPORTS.items():
        if _under(name, reader):
            assert not [m for m in imported if _under(m, *WRITE_SIDE)], name


def test_benchmarks_depend_on_nothing_in_tests():
    for name, imported in IMPORTS.items():
        if _under(name, "bench"):
            assert not [m for m in imported if _under(m, "tests")], name


def test_modules_stay_small_or_say_why():
    """A module grows until it has two reasons to change, then splits (DESIGN.md)."""
    for package in ("search", "web"):
        for path in (ROOT / package).rglob("*.py"):
            lines = path.read_text(encoding="utf-8").count("\n")
            docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            assert lines <= MAX_LINES or "longer than" in docstring, (path, lines)
