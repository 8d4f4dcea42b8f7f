"""No import cycles inside ``layerkit/``, lazy imports included.

Every module under ``layerkit/`` is parsed with ``ast``; every ``import`` and
``from ... import`` statement counts, wherever it stands (module level, in a
function, a class body or an ``if TYPE_CHECKING:`` block is the one exception:
it never runs). Relative imports are resolved against the importing module;
``from package import name`` is an edge to ``package.name`` when that is a
module, else to ``package`` itself. Importing ``a.b.c`` also runs the
``__init__`` of ``a`` and ``a.b``; those implicit edges are left out, as every
import checker does: a package's ``__init__`` re-exports its modules, and
counting them would make every package a cycle with itself.

A cycle is reported as the chain of modules, ``a -> b -> c -> a``.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "layerkit"

#: cycles in modules other engineers are changing right now, each as the sorted
#: tuple of the modules it goes through; to be emptied when their work lands
PENDING_ELSEWHERE: set[tuple[str, ...]] = set()


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """Every import statement of ``tree`` outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of layerkit it imports}``."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _import_nodes(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                target = _resolve(name, is_package, node)
                subs = [f"{target}.{alias.name}" for alias in node.names]
                targets = [s for s in subs if s in modules]
                if len(targets) < len(subs):
                    targets.append(target)
            for target in targets:
                while target and target not in modules:   # a name inside a module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One chain per strongly connected component with more than one module
    (Tarjan's algorithm, iterative), each ``[a, b, ..., a]``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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
                    components.append(sorted(component))
    return [_chain(graph, set(c)) for c in components]


def knots(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules of each cycle's strongly connected component (for the message)."""
    return [sorted(_reach(graph, c[0]) & _reached_by(graph, c[0])) for c in find_cycles(graph)]


def _reach(graph, start):
    seen, todo = {start}, [start]
    while todo:
        for child in graph[todo.pop()]:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def _reached_by(graph, start):
    reverse: dict[str, set[str]] = {m: set() for m in graph}
    for m, children in graph.items():
        for c in children:
            reverse[c].add(m)
    return _reach(reverse, start)


def _chain(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the first module of ``component`` (breadth first)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path)) + [start]
                if child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    return [start, start]


def test_the_checker_sees_lazy_imports_and_reports_chains():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    tree = ast.parse("def f():\n    from . import x\nif TYPE_CHECKING:\n    import y\n")
    assert [type(n).__name__ for n in _import_nodes(tree)] == ["ImportFrom"]


def test_no_import_cycles_in_layerkit():
    graph = import_graph()
    unexpected = [(chain, knot) for chain, knot in zip(find_cycles(graph), knots(graph))
                  if tuple(sorted(set(chain))) not in PENDING_ELSEWHERE]
    assert not unexpected, "import cycles:\n" + "\n".join(
        " -> ".join(chain) + (f"\n    (one of the cycles of a knot of {len(knot)} modules: "
                              f"{', '.join(knot)})" if len(knot) > len(chain) - 1 else "")
        for chain, knot in unexpected)
