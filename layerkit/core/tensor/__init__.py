"""``layerkit.core.tensor``: Theano's ``T`` — constructors, math, shaping, nnet.

>>> import layerkit.core as theano
>>> import layerkit.core.tensor as T
>>> x = T.dvector('x')
>>> f = theano.function([x], (x ** 2).sum())
>>> float(f([1.0, 2.0]))
5.0
"""
from __future__ import annotations

from ..graph import Variable
from ..ops.shape import shape_of as shape
from ..types import TensorType
from . import basic, extra_ops, nnet, opt, shared_randomstreams, signal
from .basic import *  # noqa: F401,F403 - the builders listed in basic.__all__
from .basic import __all__ as _basic_all
from .basic import disconnected_grad
from .constructors import *  # noqa: F401,F403
from .constructors import __all__ as _constructors_all
from .variable import TensorVariable

consider_constant = disconnected_grad

__all__ = ["Variable", "TensorVariable", "TensorType", "grad", "cast", "disconnected_grad",
           "consider_constant", "dot", "tensordot", "shape", "nnet", "signal", "extra_ops", *_basic_all,
           *_constructors_all]
