"""layerkit's symbolic core: Theano's programming model on pluggable backends.

>>> import layerkit.core as theano
>>> import layerkit.core.tensor as T
>>> x = T.dscalar('x')
>>> f = theano.function([x], T.grad(x ** 3, x))
>>> float(f(2.0))
12.0
"""
from __future__ import annotations

from . import compile, gof, gradient, printing, sandbox, scalar, tensor
from .config import config
from .function import Function, In, MissingInputError, Param, UnusedInputError, function
from .grad import DisconnectedInputError, grad
from .nanguardmode import NanGuardMode
from .graph import Apply, Constant, Variable, ancestors, clone_replace
from .opfromgraph import OpFromGraph
from .ops.basic import disconnected_grad
from .random import MRG_RandomStreams, RandomStreams
from .scan_module import foldl, foldr, map, reduce, scan  # noqa: A004 - Theano's names
from .shared import SharedVariable, shared
from . import scan_module

__all__ = ["function", "Function", "shared", "SharedVariable", "grad", "config", "tensor",
           "RandomStreams", "MRG_RandomStreams", "Variable", "Constant", "Apply", "clone",
           "scan", "printing", "MissingInputError", "UnusedInputError",
           "DisconnectedInputError", "gradient", "compile", "NanGuardMode", "In", "OpFromGraph",
           "gof", "sandbox", "scan_module", "Param", "scalar", "map", "reduce", "foldl", "foldr"]


def clone(output, replace=None, share_inputs=True):
    """A copy of ``output`` (a variable or a list) with the variables in ``replace``
    substituted.

    ``share_inputs=True`` (the default) keeps the graph's inputs; with ``False``
    every input the copy still reaches is cloned too, as in Theano: a symbolic
    input becomes a new variable of the same type and name (so a function of
    the copy takes the new one), and a shared variable becomes a memory-aliased
    clone (:meth:`SharedVariable.alias`: a new graph variable reading and
    writing the same storage; its ``default_update``, if any, is copied over
    the cloned graph). Constants are immutable and stay shared.
    """
    single = isinstance(output, Variable)
    outs = [output] if single else list(output)
    replace = dict(replace or {})
    if not share_inputs:
        replace.update(_clone_inputs(outs, replace))
    outs = clone_replace(outs, replace)
    return outs[0] if single else outs


def _clone_inputs(outs, replace):
    """``{input: its clone}`` for the leaves ``outs`` reach past ``replace``."""
    stop = list(replace)
    # the replacements are new subgraphs whose leaves are the caller's: keep those
    leaves = [v for v in ancestors(outs, stop) if v.owner is None
              and not isinstance(v, Constant) and not any(v is k for k in stop)]
    memo = {}
    for v in leaves:
        memo[v] = v.alias() if isinstance(v, SharedVariable) else v.clone()
    for old, new in memo.items():
        update = getattr(old, "default_update", None)
        if isinstance(new, SharedVariable) and update is not None:
            # over the cloned inputs, so that a function of the copy needs none of the old
            new.default_update = clone_replace([update], {**replace, **memo})[0]
    return memo

