"""Elementwise fusion: ``exp(add(x, y)) * z -> Fused{multiply(exp(add(x0, x1)), x2)}``.

A chain of elementwise nodes whose intermediate results have no other use
becomes one node; intermediates of the same shape and dtype share buffers.
The fused node checks Theano's broadcasting rule once, on its inputs: every
value inside has the rank of the root (padding happens outside), and a size
inside comes from the inputs free on that axis, so agreeing inputs suffice.
"""
from __future__ import annotations

from ...backend.fusion import FusedElemwise
from ..graph import Apply, Variable, toposort
from ..ops.elemwise import Elemwise
from ..ops.fused import Fused
from .walk import reader_counts

__all__ = ["fuse_elemwise"]


def _fusible(node: Apply) -> bool:
    return isinstance(node.op, Elemwise)


def fuse_elemwise(outputs: list[Variable]) -> list[Variable]:
    nodes = toposort(outputs)
    clients = reader_counts(outputs, nodes)      # graph outputs count as read outside
    group_of: dict[int, list[Apply]] = {}
    absorbed: set[int] = set()
    for node in reversed(nodes):     # roots first: a group grows toward the inputs
        if id(node) in absorbed or not _fusible(node):
            continue
        group, frontier = [node], [node]
        while frontier:
            current = frontier.pop()
            for i in current.inputs:
                prod = i.owner
                if prod is not None and _fusible(prod) and clients[id(i)] == 1 \
                        and id(prod) not in absorbed:
                    absorbed.add(id(prod))
                    group.append(prod)
                    frontier.append(prod)
        if len(group) > 1:
            group_of[id(node)] = group
    if not group_of:
        return list(outputs)
    order = {id(n): k for k, n in enumerate(nodes)}
    memo: dict[int, Variable] = {}
    for node in nodes:
        if id(node) in absorbed:
            continue
        inputs = [memo.get(id(i), i) for i in node.inputs]
        if id(node) in group_of:
            group = sorted(group_of[id(node)], key=lambda n: order[id(n)])
            new = _build(group, memo)
        elif any(a is not b for a, b in zip(inputs, node.inputs)):
            new = node.op.make_node(*inputs)
            new.trace = node.trace
        else:
            continue
        for old, out in zip(node.outputs, new.outputs):
            out.name = old.name
            memo[id(old)] = out
    return [memo.get(id(o), o) for o in outputs]


def _build(group: list[Apply], memo) -> Apply:
    inside = {id(n.outputs[0]): k for k, n in enumerate(group)}
    externals: list[Variable] = []
    index: dict[int, int] = {}
    for node in group:
        for i in node.inputs:
            if id(i) not in inside and id(i) not in index:
                index[id(i)] = len(externals)
                externals.append(i)
    n = len(externals)
    value_of = dict(index)
    for k, node in enumerate(group):
        value_of[id(node.outputs[0])] = n + k
    steps, dtypes = [], []
    last_use: dict[int, int] = {}
    for k, node in enumerate(group):
        args = tuple(value_of[id(i)] for i in node.inputs)
        steps.append((node.op.name, args))
        dtypes.append(node.outputs[0].dtype)
        for a in args:
            last_use[a] = k
    reuse = []
    taken: set[int] = set()
    for k, node in enumerate(group):
        out_t = node.outputs[0].type
        choice = None
        for a in steps[k][1]:
            if a < n or a in taken or last_use.get(a) != k:
                continue
            t = group[a - n].outputs[0].type
            # 0-d results may be numpy scalars, which cannot be written into
            if t.dtype == out_t.dtype and t.broadcastable == out_t.broadcastable and t.ndim:
                choice = a
                break
        if choice is not None:
            taken.add(choice)
        reuse.append(choice)
    spec = FusedElemwise(tuple(v.dtype for v in externals), tuple(steps), tuple(dtypes),
                         tuple(reuse), n + len(group) - 1)
    root = group[-1]
    node = Fused(spec, root.outputs[0].type).make_node(*[memo.get(id(v), v) for v in externals])
    node.trace = root.trace
    return node
