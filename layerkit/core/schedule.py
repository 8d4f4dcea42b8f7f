"""Linking, step 1 of 3: the schedule — the order the nodes run in, where each
runs (host or device), and which update nodes write into their variable's storage.

Small integer computations (shapes, indices) run on the host backend (numpy);
a host value a device kernel needs is moved there once (the emitter does it).
The in-place plan and the commit phase are :mod:`layerkit.core.aliasing`'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .aliasing import commit_order, plan_inplace
from .graph import Apply, Constant, Variable, toposort

__all__ = ["Schedule", "schedule"]


@dataclass
class Schedule:
    """What the emitter needs to know of the graph."""

    #: ``(node, runs on the host)`` in the order they run
    nodes: list[tuple[Apply, bool]]
    #: ids of the variables whose values exist on the host
    host_vars: set[int]
    #: ``id(node) -> position of the input whose storage it overwrites``
    writes: dict[int, int] = field(default_factory=dict)
    #: ids of the nodes of the commit phase (the writes and every node after one)
    commit: set[int] = field(default_factory=set)


def schedule(outputs: Sequence[Variable], targets: Sequence[Variable],
             values: Sequence[Variable], in_place: bool) -> Schedule:
    """The schedule computing ``outputs`` and the update ``values`` of ``targets``
    (writing in place where :func:`~layerkit.core.aliasing.plan_inplace` allows,
    when ``in_place``)."""
    nodes = toposort(list(outputs) + list(values))
    writes, commit = {}, []
    if in_place:
        writes, commit = plan_inplace(nodes, outputs, targets, values)
        nodes = commit_order(nodes, commit)
    host_vars: set[int] = set()
    for v in {id(i): i for n in nodes for i in n.inputs}.values():
        if isinstance(v, Constant) and v.ndim <= 1 and _small_int(v):
            host_vars.add(id(v))
    marked, late = [], set(commit)
    for node in nodes:
        on_host = _runs_on_host(node, host_vars) and id(node) not in late
        if on_host:
            host_vars.update(id(o) for o in node.outputs)
        marked.append((node, on_host))
    return Schedule(marked, host_vars, writes, late)


def _small_int(v: Variable) -> bool:
    return v.dtype.startswith(("int", "uint", "bool"))


def _runs_on_host(node: Apply, host_vars: set[int]) -> bool:
    """Ops that declare it, and pure ops computing small ints from host values."""
    op = node.op
    if op.host:
        return True
    if not op.pure or not node.inputs:
        return False
    small_ints = all(_small_int(o) and o.ndim <= 1 for o in node.outputs)
    return small_ints and all(id(i) in host_vars for i in node.inputs)
