"""Graph rewrites, one module per family; ``optimize`` runs them in order."""
from __future__ import annotations

from typing import Sequence

from ..config import config
from ..graph import Variable
from .canonicalize import canonicalize, specialize
from .fold import fold_constants
from .fuse import fuse_elemwise
from .merge import merge
from .walk import rewrite_nodes

__all__ = ["rewrite_nodes", "optimize"]


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

    The stable forms (``log(softmax) -> log_softmax``...; ``STABLE_FORMS`` in
    :mod:`layerkit.core.ops.elemwise`) are applied earlier, when the expression
    is built, so that gradients are taken of them too; the
    in-place phase is the linker's (an update that is the last reader of its
    shared variable writes into its storage).
    """
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
