"""The package's rooms import only downwards, and no module imports itself in a circle.

Every import counts: at module level, inside functions, and under TYPE_CHECKING (a cycle
there is still a design knot, and mypy follows it). The layers are those of netwatch's
docstring map (netwatch/__init__.py); rooms on one line must not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "netwatch"

LAYERS: list[tuple[str, ...]] = [  # top first
    ("cli",),
    ("lab",),
    ("daemon", "generators"),
    ("web",),
    ("sites", "discovery"),
    ("history",),
    ("icmp", "snmp"),
    ("scheduler",),
    ("inventory",),
    ("config",),
    ("base",),
]
RANK = {room: level for level, rooms in enumerate(LAYERS) for room in rooms}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The netwatch modules a file imports, anywhere in it."""
    found: set[str] = set()
    package = ""
    if path.is_relative_to(PACKAGE):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for alias in node.names:  # `from pkg import module` names a module
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    return {name for name in found if name == "netwatch" or name.startswith("netwatch.")}


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


GRAPH = {name: imports_of(path, set(modules())) for name, path in modules().items()}


def test_every_room_is_in_a_layer() -> None:
    rooms = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert rooms == set(RANK), "a new package needs its place in LAYERS and in the map"


def violations(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in graph.items():
        mine = room(module)
        for target in imported:
            theirs = room(target)
            if mine is None or theirs is None or mine == theirs:
                continue
            if RANK[theirs] <= RANK[mine]:
                wrong.append(f"{module} imports {target} ({mine} may not import {theirs})")
    return sorted(wrong)


def test_rooms_import_only_downwards() -> None:
    wrong = violations(GRAPH)
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]], start: str) -> list[str] | None:
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if nxt in on_path:
                return [*path[path.index(nxt):], nxt]
            if nxt not in done:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    return visit(start)


def test_no_import_cycles() -> None:
    cycles = {frozenset(c): c for start in sorted(GRAPH) if (c := find_cycle(GRAPH, start))}
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles.values())


def test_the_checker_sees_violations_and_cycles(tmp_path: Path) -> None:
    """Guards the checker: imports in functions and under TYPE_CHECKING are seen, an upward
    import and a sibling import are reported, and a cycle is found."""
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from netwatch.sites.engine import SiteEngine\n"
                      "def f():\n    import netwatch.snmp.v3\n")
    assert imports_of(source, set()) == {"netwatch.sites.engine", "netwatch.snmp.v3"}
    graph = {"netwatch.icmp.prober": {"netwatch.snmp.v3", "netwatch.base.errors"},
             "netwatch.config.read": {"netwatch.inventory.model"}}
    assert violations(graph) == [
        "netwatch.config.read imports netwatch.inventory.model (config may not import inventory)",
        "netwatch.icmp.prober imports netwatch.snmp.v3 (icmp may not import snmp)"]
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a"}}
    assert find_cycle(ring, "a") == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}, "a") is None
