"""The functions of ``layerkit.core.tensor`` (Theano's ``T``) under Theano's names:
math, reductions, shaping, indexing and nnet builders. Each is defined next to
its op in :mod:`layerkit.core.ops` (``T.sigmoid`` in ``ops/elemwise.py``,
``T.sum`` in ``ops/reduce.py``...); this module only gathers them."""
from __future__ import annotations

from ..graph import as_variable
from ..grad import grad
from ..ops.basic import cast, constant, disconnected_grad
from ..ops.elemwise import (abs, abs_, add, and_, arccos, arccosh, arcsin, arcsinh, arctan,
                            arctan2, arctanh, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,
                            ceil, clip, cos, cosh, divide, eq, erf, exp, expm1, floor,
                            floor_div, ge, gt, int_div, inv, invert, isinf, isnan, le, log,
                            log1p, logical_and, logical_not, logical_or, logical_xor, lt,
                            maximum, minimum, mod, mul, neg, neq, or_, pow, reciprocal, relu,
                            round, sgn, sigmoid, sign, sin, sinh, softplus, sqr, sqrt, square,
                            sub, switch, tan, tanh, true_div, trunc, where, xor)
from ..ops.linalg import batched_dot, dot, outer, outer_last, tensordot
from ..ops.nnet import log_softmax, logsoftmax, softmax
from ..ops.reduce import (all, any, argmax, argmin, logsumexp, max, mean, min, norm, prod, std,
                          sum, var)
from ..ops.shape import (addbroadcast, alloc, arange, concatenate, dimshuffle, fill, flatten,
                         join, ones, ones_like, patternbroadcast, reshape, shape_padaxis,
                         shape_padleft, shape_padright, squeeze, stack, transpose, unbroadcast,
                         zeros, zeros_like)
from ..ops.subtensor import getitem, inc_subtensor, set_subtensor

as_tensor_variable = as_tensor = as_variable

__all__ = [
    # elementwise (ops/elemwise.py)
    "abs", "abs_", "add", "and_", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "ceil", "clip", "cos",
    "cosh", "divide", "eq", "erf", "exp", "expm1", "floor", "floor_div", "ge", "gt", "int_div",
    "inv", "invert", "isinf", "isnan", "le", "log", "log1p", "logical_and", "logical_not",
    "logical_or", "logical_xor", "lt", "maximum", "minimum", "mod", "mul", "neg", "neq", "or_",
    "pow", "reciprocal", "relu", "round", "sgn", "sigmoid", "sign", "sin", "sinh", "softplus",
    "sqr", "sqrt", "square", "sub", "switch", "tan", "tanh", "true_div", "trunc", "where", "xor",
    # reductions (ops/reduce.py)
    "all", "any", "argmax", "argmin", "logsumexp", "max", "mean", "min", "norm", "prod", "std",
    "sum", "var",
    # shaping and creation (ops/shape.py)
    "addbroadcast", "alloc", "arange", "concatenate", "dimshuffle", "fill", "flatten", "join",
    "ones", "ones_like", "patternbroadcast", "reshape", "shape_padaxis", "shape_padleft",
    "shape_padright", "squeeze", "stack", "transpose", "unbroadcast", "zeros", "zeros_like",
    # indexing (ops/subtensor.py)
    "getitem", "inc_subtensor", "set_subtensor",
    # products (ops/linalg.py)
    "batched_dot", "dot", "outer", "outer_last", "tensordot",
    # softmax (ops/nnet.py)
    "log_softmax", "logsoftmax", "softmax",
    # constants, casts, gradients
    "as_tensor", "as_tensor_variable", "cast", "constant", "disconnected_grad", "grad",
]
