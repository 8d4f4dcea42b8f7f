"""The walk every rewrite family uses: :func:`rewrite_nodes` applies a local rule
to each node of a graph, inputs first."""
from __future__ import annotations

from collections import defaultdict
from typing import Callable, Sequence

from ..graph import Apply, Variable, toposort, trace_scope

__all__ = ["rewrite_nodes", "reader_counts"]


def rewrite_nodes(outputs: Sequence[Variable],
                  local: Callable[[Apply], list[Variable] | None]) -> list[Variable]:
    """Walk the graph inputs-first; ``local(node)`` may return replacement outputs.

    Nodes whose inputs were replaced are rebuilt before ``local`` sees them.
    """
    memo: dict[int, Variable] = {}
    for node in toposort(outputs):
        new_inputs = [memo.get(id(i), i) for i in node.inputs]
        # nodes made here (rebuilt, or a rule's replacement) keep the user's line
        with trace_scope(node.trace):
            if any(a is not b for a, b in zip(new_inputs, node.inputs)):
                rebuilt = node.op.make_node(*new_inputs)
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


def reader_counts(outputs: Sequence[Variable], nodes: Sequence[Apply] | None = None) -> dict:
    """``{id(variable): how many times it is read}``: as a node's input (once per
    position) or as a graph output (read outside). ``nodes``: ``toposort(outputs)``
    when the caller has it already. Variables read by nothing are absent."""
    counts: dict[int, int] = defaultdict(int)
    for node in (toposort(outputs) if nodes is None else nodes):
        for i in node.inputs:
            counts[id(i)] += 1
    for o in outputs:
        counts[id(o)] += 1
    return counts
