"""Constant folding: ``op(constants) -> constant``, evaluated once on the host."""
from __future__ import annotations

from ...backend import host_backend
from ..graph import Apply, Constant, as_variable
from .walk import rewrite_nodes

__all__ = ["fold_constants"]


def _fold(node: Apply):
    """``f(c1, c2) -> c`` when every input is a constant and ``f`` is pure."""
    op = node.op
    if not op.pure or not op.foldable:
        return None
    if not all(isinstance(i, Constant) for i in node.inputs):
        return None
    host = host_backend()
    result = op.thunk(host, node)(*[i.data for i in node.inputs])
    results = result if isinstance(result, tuple) else (result,)
    out = []
    for var, value in zip(node.outputs, results):   # (inside rewrite_nodes' trace_scope)
        arr = host.to_numpy(value).astype(var.dtype, copy=False)
        out.append(as_variable(arr))
    return out


def fold_constants(outputs):
    return rewrite_nodes(outputs, _fold)
