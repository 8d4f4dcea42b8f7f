"""layerkit's symbolic core: Theano's programming model on pluggable backends.

>>> import layerkit.core as theano
>>> import layerkit.core.tensor as T
>>> x = T.dscalar('x')
>>> f = theano.function([x], T.grad(x ** 3, x))
>>> float(f(2.0))
12.0
"""
from __future__ import annotations

from . import compile, printing, tensor
from .compile import NanGuardMode
from .config import config
from .function import Function, MissingInputError, UnusedInputError, function
from .grad import DisconnectedInputError, grad
from .graph import Apply, Constant, Variable, clone_replace
from .random import MRG_RandomStreams, RandomStreams
from .shared import SharedVariable, shared

__all__ = ["function", "Function", "shared", "SharedVariable", "grad", "config", "tensor",
           "RandomStreams", "MRG_RandomStreams", "Variable", "Constant", "Apply", "clone",
           "scan", "printing", "MissingInputError", "UnusedInputError",
           "DisconnectedInputError", "gradient", "compile", "NanGuardMode"]


def clone(output, replace=None, share_inputs=True):
    """A copy of ``output`` with the variables in ``replace`` substituted."""
    single = isinstance(output, Variable)
    outs = clone_replace([output] if single else list(output), dict(replace or {}))
    return outs[0] if single else outs


def scan(*args, **kwargs):
    """Not yet: ``scan`` and recurrent layers come in a later release (DESIGN 4a)."""
    raise NotImplementedError("layerkit.core.scan is not implemented yet: scan and recurrent "
                              "layers come in a later release")


class gradient:  # noqa: N801 - Theano's module name ``theano.gradient``
    from .ops.basic import disconnected_grad
    grad = staticmethod(grad)
    disconnected_grad = staticmethod(disconnected_grad)
