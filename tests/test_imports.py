"""No import cycle among fangcang's modules.

The check reads every ``fangcang/**/*.py`` with ``ast`` (nothing is imported), resolves each
``import`` / ``from ... import`` that names a fangcang module (relative or absolute; ``from pkg
import name`` counts as an import of ``pkg.name`` when that is a module, else of ``pkg``) and
builds the module graph. An import inside a function (a "lazy" import) is an edge too: hiding a
cycle in a function still makes two modules depend on each other. The graph must be acyclic
(``graphlib.TopologicalSorter`` raises ``CycleError`` naming the cycle) once the lazy imports
listed in ``ALLOWED_LAZY`` are left out; each entry says why it is lazy.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (importer, imported): why this import must stay inside a function. Only lazy imports that
#: close a cycle need to be listed; the test fails when a listed one is no longer lazy.
ALLOWED_LAZY: dict[tuple[str, str], str] = {
    ("fangcang.scoring.model", "fangcang.scoring.store"): (
        "persistence reads the stored previous month; store writes what compute() returns"
    ),
    ("fangcang.demo", "fangcang.demo.builder"): (
        "the package's entry points load numpy, pyarrow and shapely only when a demo is built"
    ),
    ("fangcang.importer.reader", "fangcang.importer.layout"): (
        "layout detection reads sources through the reader's decoding helpers"
    ),
    ("fangcang.alcohol", "fangcang.alcohol.demo"): (
        "the demo hook is loaded only when a demo is built (it imports tasks and auth)"
    ),
    ("fangcang.effect", "fangcang.effect.demo"): (
        "the demo hook imports fangcang.bulletins, which reads fangcang.effect; loaded only when "
        "a demo is built"
    ),
}


def _modules() -> dict[str, tuple[Path, bool]]:
    out = {}
    for path in sorted((ROOT / "fangcang").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts = parts[:-1]
        out[".".join(parts)] = (path, is_pkg)
    return out


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_pkg: bool, known) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_pkg else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        names = [
            f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names
        ]
    out = []
    for name in names:
        while name not in known and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in known and name != module:
            out.append(name)
    return out


def import_graph() -> dict[tuple[str, str], bool]:
    """Every edge (importer, imported) among fangcang modules -> True when every import of it
    sits inside a function (lazy)."""
    known = _modules()
    edges: dict[tuple[str, str], bool] = {}

    def visit(node, module, is_pkg, lazy):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, module, is_pkg, known):
                    key = (module, target)
                    edges[key] = edges.get(key, True) and lazy
            else:
                inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, module, is_pkg, lazy or inner)

    for module, (path, is_pkg) in known.items():
        visit(ast.parse(path.read_text(encoding="utf-8")), module, is_pkg, False)
    return edges


def test_graph_sees_top_level_and_lazy_imports():
    edges = import_graph()
    # a top-level relative import and a package import
    assert edges[("fangcang.access", "fangcang.models")] is False
    assert edges[("fangcang.models.access", "fangcang.models.base")] is False
    # a lazy one (inside a function)
    assert edges[("fangcang.demo", "fangcang.demo.builder")] is True


def find_cycle(edges, allowed) -> list[str] | None:
    """A cycle of the graph ``edges`` without the ``allowed`` lazy edges, or None."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if (a, b) not in allowed:
            graph.setdefault(a, set()).add(b)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        return exc.args[1]
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph(), ALLOWED_LAZY)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_find_cycle_finds_cycles_and_honours_allowed():
    edges = {("a", "b"): False, ("b", "c"): False, ("c", "a"): True}
    assert sorted(set(find_cycle(edges, {}))) == ["a", "b", "c"]
    assert find_cycle(edges, {("c", "a"): "reason"}) is None


def test_allowed_lazy_imports_are_lazy_and_exist():
    edges = import_graph()
    stale = [pair for pair in ALLOWED_LAZY if pair not in edges]
    eager = [pair for pair in ALLOWED_LAZY if edges.get(pair) is False]
    assert not stale, f"ALLOWED_LAZY lists imports that are gone (remove them): {stale}"
    assert not eager, f"ALLOWED_LAZY lists imports that are now at module level: {eager}"


def test_access_and_models_import_one_way():
    edges = import_graph()
    assert ("fangcang.access", "fangcang.models") in edges
    assert not [
        pair
        for pair in edges
        if pair[0].startswith("fangcang.models") and pair[1] == "fangcang.access"
    ]
