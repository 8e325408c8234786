"""The package's import graph has no cycle, and reading the calendar does not load the engine.

The graph is read from the source with ``ast``: every ``import daemon...`` and
``from daemon... import ...`` anywhere in a module (inside functions and under
``TYPE_CHECKING`` too, so a cycle cannot hide in a late import), resolved to the module it
names (``from daemon.policy import backlog`` is ``daemon.policy.backlog``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import daemon

PACKAGE = Path(daemon.__file__).parent


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module a dotted name lives in: itself, or the nearest enclosing module."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def ours(name: str) -> bool:
    return name == "daemon" or name.startswith("daemon.")


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that module ``name`` imports, at any level of its source."""
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(resolve(alias.name, known) for alias in node.names if ours(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parent = here[: len(here) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            if not ours(base):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else resolve(base, known))
    found.discard(None)
    found.discard(name)
    return {m for m in found if m is not None}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules, as ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(edges):
        if v not in index:
            visit(v)
    found = []
    for group in groups:
        start = min(group)
        paths = {start: [start]}
        queue = [start]
        while queue:  # the shortest way round from start back to start, inside the group
            v = queue.pop(0)
            if start in edges[v]:  # no module imports itself (imports_of drops that)
                found.append([*paths[v], start])
                break
            for w in sorted(edges[v] & group):
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
    return found


def test_the_graph_is_read_from_the_source() -> None:
    """The walk sees the imports it must judge: top-level, submodule-as-name, and inside functions."""
    edges = graph()
    assert "daemon.policy.engine" in edges["daemon.cli"]
    assert "daemon.policy.backlog" in edges["daemon.policy.engine"]  # from daemon.policy import backlog
    assert "daemon.timeparts" in edges["daemon.config.validate"]  # durations, clock times, weekdays
    assert "daemon.config" in edges["daemon.policy.calendar"]  # under TYPE_CHECKING


def test_cycles_are_found_and_named() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]


def test_no_import_cycle() -> None:
    found = cycles(graph())
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_time_parts_are_a_leaf() -> None:
    """The config validates with the time parts, and the calendar is built on them: they import
    nothing of casewatch, or the config <-> calendar cycle comes back."""
    assert graph()["daemon.timeparts"] == set()


def test_importing_the_calendar_does_not_load_the_engine() -> None:
    code = (
        "import sys, daemon.policy.calendar\n"
        "print(sorted(m for m in sys.modules if m.startswith('daemon')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PACKAGE.parent)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    loaded = ast.literal_eval(done.stdout.strip())
    assert "daemon.policy.calendar" in loaded
    assert "daemon.policy.engine" not in loaded, loaded
