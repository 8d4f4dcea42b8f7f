"""Shape kernels: cupy's own."""
from __future__ import annotations

from ._cuda import cupy

__all__ = ["SHAPE_KERNELS"]


def reshape(x, shape):
    return cupy().reshape(x, shape)


def permute_dims(x, axes):
    return cupy().transpose(x, axes)


def broadcast_to(x, shape):
    return cupy().broadcast_to(x, shape)


def concatenate(*xs, axis=0):
    return cupy().concatenate(xs, axis=axis)


def stack(*xs, axis=0):
    return cupy().stack(xs, axis=axis)


SHAPE_KERNELS = {"reshape": reshape, "permute_dims": permute_dims, "broadcast_to": broadcast_to,
                 "concatenate": concatenate, "stack": stack}
