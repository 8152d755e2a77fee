"""The layers of docs/architecture.md hold. `make lint` runs import-linter's contracts; these tests
check what the contracts cannot: that every module sits in a layer (a module in none is unchecked)
and that no two files import each other, directly or in a loop (lazy imports included)."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]


def _layer_modules() -> list[list[str]]:
    (layers,) = [c["layers"] for c in _config()["contracts"] if c["type"] == "layers"]
    return [[name.strip() for name in layer.replace("|", ":").split(":")] for layer in layers]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("emplifai")


def test_the_graph_sees_the_top_level_folders(graph):
    # The folders tasks/, scorers/, ... are importable as emplifai.tasks, ... through links; a
    # package-dir mapping would hide them from grimp and every contract on them would be vacuous.
    for package in ("tasks", "solvers", "scorers", "training", "leaderboard"):
        assert any(m.startswith(f"emplifai.{package}.") for m in graph.modules), package


def test_every_module_is_in_a_layer(graph):
    layered = [name for layer in _layer_modules() for name in layer]
    orphans = sorted(
        m for m in graph.modules
        if m != "emplifai" and not any(m == name or m.startswith(name + ".") for name in layered)
    )
    assert not orphans, f"add these to a layer in pyproject's [tool.importlinter]: {orphans}"


def _file_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_no_two_files_import_each_other(graph):
    # A package's __init__ importing its own modules is not a cycle between files of the project.
    assert _file_cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    planted = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        planted.add_module(module)
    planted.add_import(importer="p.a", imported="p.b")
    planted.add_import(importer="p.b", imported="p.c")
    planted.add_import(importer="p.c", imported="p.a")
    assert _file_cycles(planted) == [["p.a", "p.b", "p.c"]]

