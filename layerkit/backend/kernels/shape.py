"""Shape and creation kernels over the array API standard.

Creation kernels have no array input to take a namespace from, so they get
the backend's namespace as ``xp=``.
"""
from __future__ import annotations

from ._namespace import namespace

__all__ = ["SHAPE_KERNELS"]


def reshape(x, shape):
    return namespace(x).reshape(x, tuple(shape))


def permute_dims(x, axes):
    return namespace(x).permute_dims(x, tuple(axes))


def broadcast_to(x, shape):
    return namespace(x).broadcast_to(x, tuple(shape))


def concatenate(*xs, axis=0):
    return namespace(*xs).concat(list(xs), axis=axis)


def stack(*xs, axis=0):
    return namespace(*xs).stack(list(xs), axis=axis)


def flip(x, axis=None):
    return namespace(x).flip(x, axis=axis)


def copy(x):
    return namespace(x).asarray(x, copy=True)


def arange(start, stop, step, dtype, xp):
    return xp.arange(start, stop, step, dtype=getattr(xp, dtype))


def zeros(shape, dtype, xp):
    return xp.zeros(tuple(shape), dtype=getattr(xp, dtype))


def ones(shape, dtype, xp):
    return xp.ones(tuple(shape), dtype=getattr(xp, dtype))


def full(shape, value, dtype, xp):
    return xp.full(tuple(shape), value, dtype=getattr(xp, dtype))


SHAPE_KERNELS = {f.__name__: f for f in (reshape, permute_dims, broadcast_to, concatenate, stack,
                                          flip, copy, arange, zeros, ones, full)}
