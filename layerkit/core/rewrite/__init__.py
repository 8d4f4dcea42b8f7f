"""Graph rewrites, one module per family; ``optimize`` runs them in order."""
from __future__ import annotations

from typing import Callable, Sequence

from ..graph import Apply, Variable, toposort

__all__ = ["rewrite_nodes", "optimize"]


def rewrite_nodes(outputs: Sequence[Variable],
                  local: Callable[[Apply], list[Variable] | None]) -> list[Variable]:
    """Walk the graph inputs-first; ``local(node)`` may return replacement outputs.

    Nodes whose inputs were replaced are rebuilt before ``local`` sees them.
    """
    memo: dict[int, Variable] = {}
    for node in toposort(outputs):
        new_inputs = [memo.get(id(i), i) for i in node.inputs]
        if any(a is not b for a, b in zip(new_inputs, node.inputs)):
            rebuilt = node.op.make_node(*new_inputs)
            rebuilt.trace = node.trace
            for old, new in zip(node.outputs, rebuilt.outputs):
                new.name = old.name
                memo[id(old)] = new
            target = rebuilt
        else:
            target = node
        replacement = local(target)
        if replacement is not None:
            for old, new in zip(node.outputs, replacement):
                if new.name is None:
                    new.name = old.name
                memo[id(old)] = new
    return [memo.get(id(o), o) for o in outputs]


def optimize(outputs: Sequence[Variable], backend=None, fuse: bool = True) -> list[Variable]:
    """The default pipeline: constant folding, merging equal subexpressions, then
    fusing chains of elementwise ops."""
    from .fold import fold_constants
    from .fuse import fuse_elemwise
    from .merge import merge
    outputs = merge(fold_constants(outputs))
    return fuse_elemwise(outputs) if fuse else outputs
