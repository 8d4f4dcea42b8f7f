"""Graph rewrites, one module per family; ``optimize`` runs them in order."""
from __future__ import annotations

from typing import Callable, Sequence

from ..graph import Apply, Variable, toposort, trace_scope

__all__ = ["rewrite_nodes", "optimize"]


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


def optimize(outputs: Sequence[Variable], backend=None, fuse: bool = True) -> list[Variable]:
    """The default pipeline, phase by phase:

    1. *fold and merge*: constant subgraphs become constants, equal constants and
       equal subexpressions become one;
    2. *canonicalize* (:mod:`.canonicalize`): ``x * 1 -> x``, ``x + x -> 2 * x``,
       ``log(1 + x) -> log1p(x)``, transpose and reshape chains, ... then fold and
       merge again, since canonical forms expose more equal subexpressions;
    3. *specialize*: cheaper kernels for the same value (``x ** 2 -> square(x)``);
    4. *fuse* (:mod:`.fuse`): chains of elementwise ops become one node (skipped
       under NanGuardMode, which checks every node).

    ``config.optimizer_excluding`` (``LAYERKIT_FLAGS=optimizer_excluding=fusion:inplace``)
    names phases to skip.

    The stable forms of DESIGN 4a (:mod:`.stabilize`) are applied earlier, when
    the expression is built, so that gradients are taken of them too; the
    in-place phase is the linker's (an update that is the last reader of its
    shared variable writes into its storage).
    """
    from ..config import config
    from .canonicalize import canonicalize, specialize
    from .fold import fold_constants
    from .fuse import fuse_elemwise
    from .merge import merge
    skip = config.excluded()

    def phase(name, rewrite, graph):
        return graph if name in skip else rewrite(graph)

    def fold_and_merge(graph):
        return phase("merge", merge, phase("constant_folding", fold_constants, graph))

    outputs = fold_and_merge(list(outputs))
    if "canonicalize" not in skip:
        outputs = fold_and_merge(canonicalize(outputs))
    outputs = phase("specialize", specialize, outputs)
    return phase("fusion", fuse_elemwise, outputs) if fuse else outputs
