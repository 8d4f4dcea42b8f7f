"""Optimized graphs cached by structure, so compiling the same graph again is cheap.

Two graphs have the same structure when they apply equal ops, built at
the same lines of user code, to inputs in the same positions, to equal
constants and to leaves (shared variables) of equal types in the same order
of first use. (The lines are part of the key because compiled nodes keep the
line that built them for error messages; rebuilding a model with the same
code, the case the cache is for, gives the same lines.) The cache keeps the optimized
graph with its inputs and leaves replaced by placeholders (so it holds no
shared value alive); a hit substitutes the new function's own inputs and
shared variables for them, which costs one copy of the graph instead of the
rewrite phases.

Ops that are not pure (random draws) are keyed by identity: a draw of
another stream is another graph.
"""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Callable, Sequence

from ..graph import Constant, Variable, clone_replace, toposort

__all__ = ["cached_optimize", "clear", "stats"]

#: how many optimized graphs are kept (least recently used go first)
MAX_ENTRIES = 128

_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()
_STATS = {"hits": 0, "misses": 0}


def _constant_key(c: Constant) -> tuple:
    data = c.data
    if data.size <= 64:
        return ("c", c.type, data.dtype.str, data.shape, data.tobytes())
    digest = hashlib.blake2b(data.tobytes(), digest_size=16).digest()
    return ("c", c.type, data.dtype.str, data.shape, digest)


def structure(outputs: Sequence[Variable], inputs: Sequence[Variable]):
    """``(key, leaves)``: a hashable description of the graph, and its leaves (shared
    variables and other free variables) in order of first use."""
    index: dict[int, tuple] = {id(v): ("in", k, v.type) for k, v in enumerate(inputs)}
    leaves: list[Variable] = []

    def key_of(v: Variable) -> tuple:
        k = index.get(id(v))
        if k is None:
            if isinstance(v, Constant):
                k = _constant_key(v)
            else:
                k = ("leaf", len(leaves), v.type)
                leaves.append(v)
            index[id(v)] = k
        return k

    nodes = []
    for node in toposort(outputs):
        op = node.op if node.op.pure else ("impure", id(node.op), node.op)
        # the line that built the node is part of the key: errors name the user's line,
        # and the same model built by the same code again still hits
        nodes.append((op, tuple(key_of(i) for i in node.inputs), node.trace))
        for j, o in enumerate(node.outputs):
            index[id(o)] = ("n", len(nodes) - 1, j)
    outs = tuple(key_of(o) for o in outputs)
    return (tuple(nodes), outs), leaves


def cached_optimize(outputs: Sequence[Variable], inputs: Sequence[Variable],
                    optimize: Callable[[list], list], context: tuple) -> list[Variable]:
    """``optimize(outputs)``, or a copy of the graph it gave for the same structure.

    ``context`` holds whatever else decides the result (backend, phases).
    """
    try:
        key, leaves = structure(outputs, inputs)
        key = (context, key)
        hash(key)
    except TypeError:            # an op with unhashable properties: no caching
        return optimize(list(outputs))
    entry = _CACHE.get(key)
    if entry is not None:
        _CACHE.move_to_end(key)
        _STATS["hits"] += 1
        template, holders = entry
        replace = dict(zip(holders, list(inputs) + leaves))
        return clone_replace(template, replace)
    _STATS["misses"] += 1
    optimized = optimize(list(outputs))
    originals = list(inputs) + leaves
    holders = [v.type() for v in originals]
    template = clone_replace(optimized, dict(zip(originals, holders)))
    _CACHE[key] = (template, holders)
    if len(_CACHE) > MAX_ENTRIES:
        _CACHE.popitem(last=False)
    return optimized


def clear() -> None:
    """Forget every cached graph and reset the counters."""
    _CACHE.clear()
    _STATS.update(hits=0, misses=0)


def stats() -> dict:
    """``{'hits': n, 'misses': m, 'entries': k}`` since the last :func:`clear`."""
    return dict(_STATS, entries=len(_CACHE))
