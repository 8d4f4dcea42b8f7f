"""Operators and methods of symbolic variables (``x + y``, ``x[i]``, ``x.sum()``)."""
from __future__ import annotations

from ..graph import Variable
from . import basic as T

__all__ = ["install"]


def _r(f):
    return lambda self, other: f(other, self)


def _shape(self):
    from ..ops.shape import Shape
    return Shape()(self)


class _ShapeView:
    """``x.shape``: a symbolic int vector; ``x.shape[i]`` is known at build time when it can be."""


def _get_shape(self):
    from ..ops.shape import shape_of
    return shape_of(self)


def _reshape(self, *shape, ndim=None):
    if len(shape) == 1 and not isinstance(shape[0], int) and not (
            isinstance(shape[0], Variable) and shape[0].ndim == 0):
        shape = shape[0]
    return T.reshape(self, shape, ndim)


def _dimshuffle(self, *pattern):
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = pattern[0]
    return T.dimshuffle(self, pattern)


def _transpose(self, *axes):
    if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
        axes = axes[0]
    return T.transpose(self, axes or None)


METHODS = {
    "__add__": T.add, "__radd__": _r(T.add),
    "__sub__": T.sub, "__rsub__": _r(T.sub),
    "__mul__": T.mul, "__rmul__": _r(T.mul),
    "__truediv__": T.true_div, "__rtruediv__": _r(T.true_div),
    "__floordiv__": T.floor_div, "__rfloordiv__": _r(T.floor_div),
    "__mod__": T.mod, "__rmod__": _r(T.mod),
    "__pow__": T.pow, "__rpow__": _r(T.pow),
    "__matmul__": T.dot, "__rmatmul__": _r(T.dot),
    "__neg__": T.neg, "__abs__": T.abs_, "__pos__": lambda self: self,
    "__invert__": T.invert,
    "__and__": T.and_, "__rand__": _r(T.and_), "__or__": T.or_, "__ror__": _r(T.or_),
    "__xor__": T.xor, "__rxor__": _r(T.xor),
    "__lt__": T.lt, "__le__": T.le, "__gt__": T.gt, "__ge__": T.ge,
    "__getitem__": lambda self, key: T.getitem(self, key),
    "sum": T.sum, "mean": T.mean, "prod": T.prod, "max": T.max, "min": T.min,
    "any": T.any, "all": T.all, "var": T.var, "std": T.std, "norm": T.norm,
    "argmax": T.argmax, "argmin": T.argmin,
    "reshape": _reshape, "dimshuffle": _dimshuffle, "flatten": T.flatten,
    "transpose": _transpose, "squeeze": T.squeeze,
    "astype": T.cast, "dot": T.dot, "clip": T.clip, "exp": T.exp, "log": T.log,
    "sqrt": T.sqrt, "nonzero_values": None,
}


def install() -> None:
    for name, fn in METHODS.items():
        if fn is not None:
            setattr(Variable, name, fn)
    Variable.T = property(lambda self: T.transpose(self))
    Variable.shape = property(_get_shape)
    Variable.size = property(lambda self: T.prod(_get_shape(self)))
