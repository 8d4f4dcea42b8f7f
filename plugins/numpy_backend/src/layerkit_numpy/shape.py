"""Shape kernels: the ndarray methods where the input is an ndarray."""
from __future__ import annotations

import numpy as np

__all__ = ["SHAPE_KERNELS"]


def reshape(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


def permute_dims(x, axes):
    return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)


def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


def concatenate(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


SHAPE_KERNELS = {"reshape": reshape, "permute_dims": permute_dims, "broadcast_to": broadcast_to,
                 "concatenate": concatenate, "stack": stack}
