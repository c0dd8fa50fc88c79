"""The import graph of the harness's own packages: layering rules and circles.

    python tools/import_graph.py          # prints violations and circles; exit 1 if any

Every ``import`` of our modules counts, at module level or inside a function
(only ``if TYPE_CHECKING:`` blocks are skipped): a function-level import may keep
``harness --help`` fast, but it must not hide a circle. The layers (README,
"Layout"), each importing only those listed after it:

    harness      -> tasks, leaderboards, pretrain, harnesskit
    tasks        -> pretrain, harnesskit
    leaderboards -> harnesskit
    pretrain.engine -> pretrain.data, harnesskit
    pretrain.data   -> harnesskit
    harnesskit   -> (nothing of ours)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harnesskit", "pretrain", "tasks", "leaderboards", "harness")
# layer -> the layers it may import (its own layer always allowed)
ALLOWED = {
    "harnesskit": set(),
    "pretrain.data": {"harnesskit"},
    "pretrain.engine": {"pretrain.data", "harnesskit"},
    "pretrain": {"pretrain.data", "pretrain.engine", "harnesskit"},
    "tasks": {"pretrain", "pretrain.data", "pretrain.engine", "harnesskit"},
    "leaderboards": {"harnesskit"},
    "harness": {"tasks", "leaderboards", "pretrain", "pretrain.data", "pretrain.engine",
                "harnesskit"},
}


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of our packages: dotted name -> file."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def layer(module: str) -> str:
    """The layer a module belongs to (``pretrain.data.corpus`` -> ``pretrain.data``)."""
    for name in ("pretrain.data", "pretrain.engine"):
        if module == name or module.startswith(name + "."):
            return name
    return module.split(".")[0]


def _imports(tree: ast.AST, module: str, is_pkg: bool) -> list[tuple[str, int]]:
    """(imported dotted name, line) for every import outside ``if TYPE_CHECKING:``."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")
                pkg = pkg if is_pkg else pkg[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            found.extend((f"{base}.{a.name}", node.lineno) for a in node.names)
            found.append((base, node.lineno))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def graph(root: Path = ROOT) -> dict[str, dict[str, int]]:
    """module -> {imported module of ours: first line}."""
    mods = modules(root)
    edges: dict[str, dict[str, int]] = {m: {} for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for name, line in _imports(tree, mod, path.name == "__init__.py"):
            # An ancestor package is imported before any of its modules anyway: no edge.
            if name not in mods or name == mod or mod.startswith(name + "."):
                continue
            edges[mod].setdefault(name, line)
    return edges


def violations(edges: dict[str, dict[str, int]], root: Path = ROOT) -> list[str]:
    """Imports that go against the layers."""
    mods = modules(root)
    out = []
    for mod, targets in sorted(edges.items()):
        src = layer(mod)
        for target, line in sorted(targets.items()):
            dst = layer(target)
            if dst != src and dst not in ALLOWED[src]:
                rel = mods[mod].relative_to(root)
                out.append(f"{rel}:{line}: {mod} ({src}) imports {target} ({dst})")
    return out


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            strong(v)
    return sorted(out)


def main() -> int:
    edges = graph()
    bad = violations(edges)
    circles = cycles(edges)
    for line in bad:
        print(f"layering: {line}")
    for comp in circles:
        print(f"circle: {' <-> '.join(comp)}")
    n = sum(len(t) for t in edges.values())
    print(f"{len(edges)} modules, {n} imports between them: "
          f"{len(bad)} layering violations, {len(circles)} circles")
    return 1 if bad or circles else 0


if __name__ == "__main__":
    raise SystemExit(main())
