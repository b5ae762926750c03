"""The house's layers, read from the source with ``ast`` (nothing is imported, so this runs in a second).

Every module of ``core``, ``geo``, ``lookup``, ``routing``, ``registry``, ``maps`` and ``api`` is parsed; every import in it counts —
at module level, inside functions and under ``if TYPE_CHECKING:`` alike, ``import x`` and ``from x import y`` —
and ``from pkg import name`` is the submodule ``pkg.name`` when that is a module. The rules:

(a) no import circle between modules, whether the imports are at module or function level;
(b) layers point down: ``core`` 0, ``geo`` 1, ``routing`` and ``registry`` 2, ``lookup`` 3, ``maps`` 4, ``api`` 5 — a module imports only
    its own layer or a lower one;
(c) FastAPI (``fastapi``, ``starlette``) is imported only under ``api/``;
(d) no module of these packages is over :data:`MAX_LINES` lines (STYLE.md: split it by concern).

:data:`KNOWN_VIOLATIONS` lists what other work is fixing right now; the test fails on anything not in it, and on
any entry that no longer occurs, so the list can only shrink.
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS = {"core": 0, "geo": 1, "routing": 2, "registry": 2, "lookup": 3, "maps": 4, "api": 5}
"""Package → layer; a module may import its own layer or below."""
WEB_FRAMEWORKS = ("fastapi", "starlette")
"""Top-level packages only ``api/`` may import."""
MAX_LINES = 400
"""Longest module (lines) before it is split by concern (STYLE.md)."""

# Violations that others are fixing now, each as this test words it. Remove an entry when its fix lands: the test
# fails while a listed violation no longer occurs. Never add one to make a new violation pass.
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


# -- reading the source -------------------------------------------------------------------------------------------


@cache
def modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the layered packages (a package is its ``__init__.py``)."""
    out = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


def _ours(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` that is one of our modules (``core.settings.X`` → ``core.settings``)."""
    parts = dotted.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules():
            return name
        parts.pop()
    return None


@cache
def imports(module: str) -> tuple[tuple[str, int], ...]:
    """Every import of ``module`` as (dotted target, line) (see :func:`_imports_in`)."""
    path = modules()[module]
    package = module if _is_package(module) else module.rpartition(".")[0]
    return _imports_in(path.read_text(encoding="utf-8"), package, set(modules()))


def _imports_in(source: str, package: str, known: set[str]) -> tuple[tuple[str, int], ...]:
    """Every import in ``source`` (a module of ``package``), anywhere in it, as (dotted target, line):
    ``from pkg import name`` is ``pkg.name`` when that is a ``known`` module, else ``pkg``; relative imports are
    made absolute; other packages' imports are kept as written (``fastapi.security``)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.append((sub if sub in known else base, node.lineno))
    return tuple(out)


@cache
def graph() -> dict[str, dict[str, int]]:
    """Module → {imported module of ours → first line importing it}; self-imports dropped."""
    out: dict[str, dict[str, int]] = {}
    for module in modules():
        edges: dict[str, int] = {}
        for target, line in imports(module):
            ours = _ours(target)
            if ours is not None and ours != module:
                edges.setdefault(ours, line)
        out[module] = edges
    return out


def _rel(module: str) -> str:
    return modules()[module].relative_to(ROOT).as_posix()


# -- the rules ------------------------------------------------------------------------------------------------------


def _components(g: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found = []
    counter = 0
    for root in g:
        if root in index:
            continue
        work = [(root, iter(g[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(g[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        found.append(sorted(members))
    return found


def _shortest_cycle(g: dict[str, dict[str, int]], start: str, members: set[str]) -> list[str]:
    """The shortest import path from ``start`` back to itself inside one component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in g[node]:
            if child not in members:
                continue
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start] if len(path) > 1 else [start, node, start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is not on a cycle")


def circles() -> dict[str, str]:
    """'import circle: a, b' (members sorted) → one cycle with the lines that import."""
    g = graph()
    out = {}
    for members in _components(g):
        cycle = _shortest_cycle(g, members[0], set(members))
        steps = " → ".join(f"{a} ({_rel(a)}:{g[a][b]})" for a, b in zip(cycle, cycle[1:])) + f" → {cycle[0]}"
        out[f"import circle: {', '.join(members)}"] = steps
    return out


def upward_imports() -> dict[str, str]:
    """'upward import: a (pkg, layer n) imports b (pkg, layer m)' → where."""
    out = {}
    for module, edges in graph().items():
        mine = module.split(".")[0]
        for target, line in edges.items():
            theirs = target.split(".")[0]
            if LAYERS[theirs] > LAYERS[mine]:
                key = (f"upward import: {module} ({mine}, layer {LAYERS[mine]}) imports {target} "
                       f"({theirs}, layer {LAYERS[theirs]})")
                out[key] = f"{_rel(module)}:{line}"
    return out


def web_framework_imports() -> dict[str, str]:
    """'fastapi outside api/: a imports fastapi' → where."""
    out = {}
    for module in modules():
        if module.split(".")[0] == "api":
            continue
        for target, line in imports(module):
            top = target.split(".")[0]
            if top in WEB_FRAMEWORKS:
                out.setdefault(f"{top} outside api/: {module} imports {top}", f"{_rel(module)}:{line}")
    return out


def long_modules() -> dict[str, str]:
    """'module over 400 lines: path' → its length."""
    out = {}
    for module, path in modules().items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            out[f"module over {MAX_LINES} lines: {_rel(module)}"] = f"{n} lines"
    return out


def private_imports() -> dict[str, str]:
    """'private name: a imports b._name' → where. A name starting with ``_`` belongs to its module: another module
    that needs it asks for a public one (attribute reads of another object's ``_name`` are left to review)."""
    out = {}
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module and _ours(node.module):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        out[f"private name: {module} imports {node.module}.{alias.name}"] = f"{_rel(module)}:{node.lineno}"
    return out


RULES = {
    "private": private_imports,
    "circles": circles,
    "layers": upward_imports,
    "fastapi": web_framework_imports,
    "length": long_modules,
}


def _check(found: dict[str, str]) -> None:
    new = sorted(set(found) - KNOWN_VIOLATIONS)
    assert not new, "\n".join(["New violation(s) of the layering rules (see the module docstring):"]
                              + [f"- {key}\n    at {found[key]}" for key in new])


@pytest.mark.parametrize("rule", sorted(RULES))
def test_no_new_violations(rule):
    _check(RULES[rule]())


def test_known_violations_still_exist():
    """The allow-list only shrinks: an entry whose violation is gone must be removed from it."""
    found = set().union(*(rule() for rule in RULES.values()))
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not gone, ("Fixed, so remove from KNOWN_VIOLATIONS in tests/test_layers.py:\n"
                      + "\n".join(f"- {key}" for key in gone))


def test_the_scan_sees_the_house():
    """The scan finds every package's modules and the imports between them."""
    assert {"core.settings", "geo.geocode", "routing.network", "registry.service", "maps.report", "api.app"} <= set(
        modules())
    assert "core.settings" in graph()["routing.prepare"]


def test_imports_are_resolved_to_modules():
    source = (
        "import core.settings\n"
        "from core import cache\n"
        "from geo import boundaries\n"
        "from geo.geocode import Note\n"
        "def load():\n"
        "    from fastapi import Depends\n"
        "    from .index import GeocoderIndex\n"
        "    from .. import areas\n"
    )
    known = {"core", "geo", "core.settings", "geo.boundaries", "core.cache", "geo.areas", "geo.geocode",
             "geo.geocode.index"}
    assert [t for t, _ in _imports_in(source, "geo.geocode", known)] == [
        "core.settings", "core.cache", "geo.boundaries", "geo.geocode", "fastapi", "geo.geocode.index", "geo.areas"]


def test_a_circle_is_reported_with_its_path():
    g = {"a": {"b": 3}, "b": {"c": 5}, "c": {"a": 7, "d": 1}, "d": {}}
    assert _components(g) == [["a", "b", "c"]]
    assert _shortest_cycle(g, "a", {"a", "b", "c"}) == ["a", "b", "c", "a"]
