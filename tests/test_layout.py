"""The layout holds: no import cycle between webapp's packages or between files, and webapp imports
neither the benchmarks, nor the root Celery settings, nor the worker. Read from the source with `ast`:
no module is imported.

Every import counts: absolute and relative, at the top of a module, inside a function, and under
`if TYPE_CHECKING:` (a type-only import still ties the two modules together). Importing a submodule
counts as an edge to that submodule only, not to the packages above it.

One pattern is allowed in the file graph: a domain package's `__init__.py` importing its own modules.
It is the blueprint convention (docs/layout.md): `bp` is declared in the package's `__init__.py`, its
views attach their routes to it, and the `__init__.py` imports them at its bottom so that the routes
exist once the package is loaded. Every other cycle between two files is an error.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("webapp", "worker")


@dataclass
class Graph:
    """Module → the source modules it imports; where each edge is; module → every top-level name it imports."""

    edges: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    where: dict[tuple[str, str], str] = field(default_factory=dict)
    external: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def module_name(path: Path) -> str:
    """`webapp/predict/service.py` → `webapp.predict.service`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_modules() -> dict[str, Path]:
    """Every module under webapp/ and worker/, by its dotted name."""
    return {module_name(path): path for top in SOURCES for path in sorted((ROOT / top).rglob("*.py"))}


def imported_names(module: str, path: Path) -> list[tuple[str, int]]:
    """Every dotted name this module imports (relative imports resolved), with the line it is on.

    `from package import name` yields `package.name`: the caller keeps the longest part of it that
    is a module, `package.name` for a submodule, `package` for anything defined in it.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):  # every node: function bodies and `if TYPE_CHECKING:` blocks too
        if isinstance(node, ast.Import):
            names.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            names.extend((f"{target}.{alias.name}", node.lineno) for alias in node.names)
    return names


def import_graph() -> Graph:
    """The file graph of webapp/ and worker/."""
    modules, graph = source_modules(), Graph()
    for module, path in modules.items():
        graph.edges[module]  # every module is a node, even one that imports nothing
        for name, line in imported_names(module, path):
            graph.external[module].add(name.split(".")[0])
            target = name
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if not target or target == module or own_module(path, module, target):
                continue
            graph.edges[module].add(target)
            graph.where.setdefault((module, target), f"{path.relative_to(ROOT)}:{line}")
    return graph


def own_module(path: Path, module: str, target: str) -> bool:
    """Whether this is a domain package's `__init__.py` importing one of its own modules (the blueprint
    convention). The factory (`webapp/__init__.py`) is no domain: its imports all count."""
    return path.name == "__init__.py" and "." in module and target.rpartition(".")[0] == module


def package_of(module: str) -> str:
    """The node a module belongs to: `webapp.<pkg>` for a package, itself for a webapp/ top-level module."""
    parts = module.split(".")
    if parts[0] != "webapp":
        return parts[0]
    if len(parts) >= 2 and (ROOT / "webapp" / parts[1]).is_dir():
        return f"webapp.{parts[1]}"
    return module


def package_graph(files: Graph) -> Graph:
    """The graph of the packages directly under webapp/ (and worker), each edge with one import behind it."""
    packages = Graph()
    for module, targets in files.edges.items():
        source = package_of(module)
        packages.edges[source]
        for target in sorted(targets):
            if package_of(target) != source:
                edge = (source, package_of(target))
                packages.edges[source].add(edge[1])
                packages.where.setdefault(edge, f"{files.where[module, target]}: {module} imports {target}")
    return packages


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """The components of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(edges[root])))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def one_cycle(component: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the component's first node, as the path start → … → start."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node] & members):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def describe(cycles: list[list[str]], graph: Graph) -> str:
    """Each component as one of its cycles, then every other edge inside it, each with an import behind it."""
    lines = []
    for component in cycles:
        path = one_cycle(component, graph.edges)
        steps = list(itertools.pairwise(path))
        lines.append(f"  {' -> '.join(path)}")
        lines.extend(f"      {a} -> {b}: {graph.where[a, b]}" for a, b in steps)
        others = [(a, b) for a in component for b in sorted(graph.edges[a] & set(component)) if (a, b) not in steps]
        if others:
            lines.append(f"    and the other edges among {', '.join(component)}:")
            lines.extend(f"      {a} -> {b}: {graph.where[a, b]}" for a, b in others)
    return "\n".join(lines)


def test_no_import_cycle_between_files():
    files = import_graph()
    cycles = strongly_connected(files.edges)
    assert not cycles, "import cycles between files:\n" + describe(cycles, files)


def test_no_import_cycle_between_packages():
    packages = package_graph(import_graph())
    cycles = strongly_connected(packages.edges)
    assert not cycles, "import cycles between packages:\n" + describe(cycles, packages)


def test_webapp_imports_neither_the_benchmarks_nor_the_celery_settings_nor_the_worker():
    external = import_graph().external
    offending = sorted(
        f"{module} imports {name}"
        for module, names in external.items()
        if module.split(".")[0] == "webapp"
        for name in names & {"bench", "celeryconfig", "worker"}
    )
    assert not offending, "webapp depends on code outside it:\n" + "\n".join(offending)


def test_migration_files_sort_in_the_order_they_run():
    """Alembic keys on each file's revision, not its name: the names are numbered so `ls` shows the chain."""
    links = {}
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        text = path.read_text()
        revision = re.search(r'^revision = "([^"]+)"', text, re.MULTILINE)
        down = re.search(r"^down_revision = (?:\"([^\"]+)\"|None)", text, re.MULTILINE)
        assert revision and down, f"{path.name} names no revision and down_revision"
        links[path.name] = (revision.group(1), down.group(1))
    previous = None
    for name, (revision, down_revision) in links.items():
        assert down_revision == previous, f"{name} revises {down_revision}, but the file before it is {previous}"
        previous = revision
