"""Sub-tensor (indexing) kernels: get/set and ``take`` through cupy.

``scatter_add`` stays generic (a sort and a segmented scan): cupy's own
``scatter_add`` uses atomics, whose order, and so whose rounding, changes from
run to run; replays must be exact on one backend.
"""
from __future__ import annotations

from layerkit.backend import nonnegative_indices

from ._cuda import cupy

__all__ = ["SUBTENSOR_KERNELS"]


def getitem(x, key):
    return x[key]


def setitem(x, key, y, inc=False):
    out = x.copy()
    if inc:
        out[key] += y
    else:
        out[key] = y
    return out


def take(x, indices, axis=0):
    """cupy's ``take`` wraps an out-of-range index silently (``mode`` is not
    supported); the bounds are checked first, as numpy and the generic kernel do."""
    xp = cupy()
    return xp.take(x, nonnegative_indices(indices, x.shape[axis], xp, axis), axis=axis)


SUBTENSOR_KERNELS = {"getitem": getitem, "setitem": setitem, "take": take}
