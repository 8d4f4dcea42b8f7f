"""Merging: equal constants become one, and ``f(a, b)`` computed twice becomes once."""
from __future__ import annotations

from ..graph import Apply, Constant
from .walk import rewrite_nodes

__all__ = ["merge"]


def merge(outputs):
    """Common-subexpression elimination over pure ops (random draws stay apart)."""
    constants: dict = {}
    seen: dict = {}

    def canonical(v):
        if isinstance(v, Constant):
            return constants.setdefault(v.signature(), v)
        return v

    def local(node: Apply):
        inputs = [canonical(i) for i in node.inputs]
        if any(a is not b for a, b in zip(inputs, node.inputs)):
            node = node.op.make_node(*inputs)     # (inside rewrite_nodes' trace_scope)
            replaced = node.outputs
        else:
            replaced = None
        if not node.op.pure:
            return replaced
        key = (node.op, tuple(id(i) for i in node.inputs))
        first = seen.get(key)
        if first is None:
            seen[key] = node
            return replaced
        return first.outputs

    result = rewrite_nodes(outputs, local)
    return [canonical(o) for o in result]
