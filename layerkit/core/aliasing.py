"""Which values share storage, and which update nodes may write in place.

Every op declares its views (``Op.view_map``: output k may share memory with
those inputs). Following those declarations from the leaves (inputs, shared
variables, constants), each value of a graph gets its *storages*: the leaves,
or the fresh node outputs, whose memory it may be. The in-place phase uses
them to prove, before a function is linked, that overwriting a shared
variable's storage is safe:

- nothing that may view that storage is read after the write, neither by a
  later node nor as a result of the call (a result is copied only when the
  call returns);
- the node reads that storage only as the variable itself (``w.T + w`` written
  into ``w`` would read positions it already overwrote);
- the writes, and every node that depends on one, form the *commit phase*,
  which runs last, after every node that can fail. Only elementwise chains may
  be in it, and their broadcast checks all run before its first write (on
  shapes alone), so a call that raises has changed no shared variable (calls
  are all-or-nothing);
- within the commit phase, a node that reads a storage a write destroys runs
  before that write.

:func:`plan_inplace` makes the choice; the linker runs the chosen nodes last,
in the order :func:`commit_order` gives. :func:`copies_needed` uses the same
storages to decide which results and stored updates are copied when the call
ends, so that none aliases the caller's arrays, a constant, a shared value
or another result.
"""
from __future__ import annotations

from typing import Sequence

from .graph import Apply, Variable
from .shared import storage_of

__all__ = ["storage_key", "storage_roots", "leaf_keys", "copies_needed", "plan_inplace",
           "commit_order"]


def storage_key(v: Variable) -> int:
    """The identity of a leaf's storage (a memory-aliased shared clone is its target's)."""
    return id(storage_of(v))


def storage_roots(nodes: Sequence[Apply], values: Sequence[Variable] = ()) -> dict[int, frozenset]:
    """``id(variable) -> the storages it may share memory with``.

    A leaf's storage is its :func:`storage_key`; a node output that is not a
    declared view is storage of its own (its id); a declared view has its own
    and the storages of the inputs it views. ``nodes`` are in topological
    order; ``values`` are extra variables (results, update values) that may be
    leaves.
    """
    roots: dict[int, frozenset] = {}

    def of(v: Variable) -> frozenset:
        found = roots.get(id(v))
        if found is None:       # a leaf (or a variable computed outside ``nodes``)
            found = roots[id(v)] = frozenset((storage_key(v),))
        return found

    for node in nodes:
        for i in node.inputs:
            of(i)
        view_map = node.op.view_map
        for k, out in enumerate(node.outputs):
            seen = frozenset((id(out),))
            for position in view_map.get(k, ()):
                seen = seen | of(node.inputs[position])
            roots[id(out)] = seen
    for v in values:
        of(v)
    return roots


def leaf_keys(nodes: Sequence[Apply], values: Sequence[Variable] = ()) -> set[int]:
    """The storage keys of the leaves (inputs, constants, shared values) of a graph."""
    return {storage_key(v) for v in [i for n in nodes for i in n.inputs] + list(values)
            if v.owner is None}


def _through_unwriteable_view(v: Variable) -> bool:
    """Whether ``v`` may be a view that cannot be written through (a broadcast)."""
    node = v.owner
    if node is None:
        return False
    viewed = node.op.view_map.get(node.outputs.index(v), ())
    if viewed and not node.op.view_writeable:
        return True
    return any(_through_unwriteable_view(node.inputs[k]) for k in viewed)


def copies_needed(nodes: Sequence[Apply], results: Sequence[Variable],
                  targets: Sequence[Variable], values: Sequence[Variable]):
    """``(copy each result?, copy each update value?)`` when a call ends.

    A result is copied when it may share memory with a leaf (the caller's
    input, a constant, a shared value), with an earlier result (``[y, y]`` and
    ``[y, y.T]`` give distinct arrays) or with an update value. An update value
    is copied when it may share memory with a leaf other than its own target,
    or with an earlier update value: no two shared variables, and no shared
    variable and a caller's array, ever share storage. Either is copied when it
    may be a view that cannot be written through (a broadcast ``alloc``).
    """
    roots = storage_roots(nodes, list(results) + list(values))
    leaves = leaf_keys(nodes, list(results) + list(values))
    updated: set = set()
    for v in values:
        updated |= roots[id(v)]
    copy_results, seen = [], set()
    for r in results:
        mine = roots[id(r)]
        copy_results.append(bool(mine & (leaves | seen | updated))
                            or _through_unwriteable_view(r))
        seen |= mine
    copy_values, seen = [], set()
    for t, v in zip(targets, values):
        mine = roots[id(v)]
        own = v.owner is None and storage_key(v) == storage_key(t)
        copy_values.append(not own and (bool(mine & (leaves | seen))
                                         or _through_unwriteable_view(v)))
        seen |= mine
    return copy_results, copy_values


def plan_inplace(nodes: Sequence[Apply], results: Sequence[Variable],
                 targets: Sequence[Variable], values: Sequence[Variable]):
    """``(writes, commit)``: ``id(node) -> input position`` for the update nodes that
    may write into their shared variable's storage (the rules are in the module
    docstring), and the ids of the nodes of the commit phase (the writes and
    every node after them), in the order they run."""
    roots = storage_roots(nodes, list(results) + list(values))
    readers: dict[int, set] = {}             # storage -> ids of the nodes reading it
    for node in nodes:
        for i in node.inputs:
            for key in roots[id(i)]:
                readers.setdefault(key, set()).add(id(node))
    read_at_end: set = set()                 # storages the call's results may be
    for v in list(results) + list(values):
        read_at_end |= roots[id(v)]
    consumers: dict[int, list[Apply]] = {}
    for node in nodes:
        for i in node.inputs:
            if i.owner is not None:
                consumers.setdefault(id(i.owner), []).append(node)

    def descendants(node: Apply) -> set[int]:
        out, stack = set(), [node]
        while stack:
            for c in consumers.get(id(stack.pop()), ()):
                if id(c) not in out:
                    out.add(id(c))
                    stack.append(c)
        return out

    by_id = {id(n): n for n in nodes}
    chosen: dict[int, tuple[Apply, int, int]] = {}   # node id -> (node, position, storage)
    for target, value in zip(targets, values):
        node = value.owner
        if node is None or not node.op.can_destroy or id(node) in chosen:
            continue
        if len(node.outputs) != 1 or target.dtype != value.dtype:
            continue
        key = storage_key(target)
        places = [k for k, i in enumerate(node.inputs) if i is target]
        if len(places) != 1 or key in read_at_end:
            continue
        # the node reads the target's storage only through the target itself
        if any(key in roots[id(i)] for k, i in enumerate(node.inputs) if k != places[0]):
            continue
        # nothing computed from this node reads the old storage
        if readers.get(key, set()) & descendants(node):
            continue
        chosen[id(node)] = (node, places[0], key)

    # every node after a write runs in the commit phase too, after every node that
    # can fail; only elementwise chains (whose broadcast checks run before any
    # write) may: a write with another kind of node after it stays out of place
    changed = True
    while changed:
        changed = False
        for nid, (node, _, _) in list(chosen.items()):
            if any(not by_id[d].op.can_destroy for d in descendants(node)):
                del chosen[nid]
                changed = True
    rank = {id(n): k for k, n in enumerate(nodes)}
    return _order_commit(chosen, by_id, rank, readers, descendants)


def _order_commit(chosen, by_id, rank, readers, descendants) -> tuple[dict[int, int], list[int]]:
    """The writes, and the commit phase in order: the writes and the nodes after
    them, each after the nodes it depends on and after every node that reads a
    storage it destroys. A write that cannot be placed (a cycle) is dropped and
    runs earlier, out of place."""
    while True:
        phase = set(chosen)
        for nid, (node, _, _) in chosen.items():
            phase |= descendants(node)
        before: dict[int, set] = {nid: set() for nid in phase}
        for nid in phase:
            after = descendants(by_id[nid])
            for other in phase:
                if other in after:
                    before[other].add(nid)
            if nid in chosen:
                before[nid] |= (readers.get(chosen[nid][2], set()) & phase) - {nid}
        order, placed = [], set()
        while len(order) < len(phase):
            ready = [n for n in phase if n not in placed and before[n] <= placed]
            if not ready:
                break
            ready.sort(key=rank.__getitem__)
            order.append(ready[0])
            placed.add(ready[0])
        if len(order) == len(phase):
            return {nid: chosen[nid][1] for nid in order if nid in chosen}, order
        stuck = next(n for n in chosen if n not in placed)
        del chosen[stuck]


def commit_order(nodes: Sequence[Apply], commit: Sequence[int]) -> list[Apply]:
    """``nodes`` with the commit phase moved last, in its order (valid: no node
    outside the phase depends on one inside it)."""
    by_id = {id(n): n for n in nodes}
    late = set(commit)
    return [n for n in nodes if id(n) not in late] + [by_id[nid] for nid in commit]
