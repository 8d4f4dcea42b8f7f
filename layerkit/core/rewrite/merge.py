"""Merging: equal constants become one, and ``f(a, b)`` computed twice becomes once."""
from __future__ import annotations

from ..graph import Apply, Constant, clone_replace, toposort
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

    result = rewrite_nodes(absorb_extended(outputs), local)
    return [canonical(o) for o in result]


def absorb_extended(outputs):
    """A node whose op another node's op ``extends`` (on the very same inputs) is
    replaced by that node's first outputs: one loop runs instead of two."""
    nodes = toposort(outputs)
    wider = {(id(n.op.extends), tuple(id(i) for i in n.inputs)): n
             for n in nodes if n.op.extends is not None}
    if not wider:
        return list(outputs)
    replace = {}
    for n in nodes:
        other = wider.get((id(n.op), tuple(id(i) for i in n.inputs)))
        if other is not None:
            replace.update(zip(n.outputs, other.outputs))
    return clone_replace(list(outputs), replace) if replace else list(outputs)
