"""Indexing kernels: basic get/set, gather (take) and scatter-add."""
from __future__ import annotations

from array_api_compat import array_namespace

__all__ = ["INDEXING_KERNELS"]


def _full(key, ndim):
    """The standard needs every axis indexed; numpy's implicit trailing ':' made explicit."""
    key = key if isinstance(key, tuple) else (key,)
    return key + (slice(None),) * (ndim - len(key))


def getitem(x, key):
    return x[_full(key, x.ndim)]


def setitem(x, key, y, inc=False):
    """A copy of ``x`` with ``x[key]`` set to (or incremented by) ``y``."""
    xp = array_namespace(x)
    out = xp.asarray(x, copy=True)
    key = _full(key, x.ndim)
    out[key] = out[key] + y if inc else y
    return out


def take(x, indices, axis=0):
    xp = array_namespace(x, indices)
    n = x.shape[axis]
    # negative indices count from the end, as in numpy
    indices = xp.where(indices < 0, indices + n, indices)
    return xp.take(x, indices, axis=axis)


def scatter_add(x, indices, values, axis=0):
    """``x`` plus ``values`` added at ``indices`` along ``axis`` (duplicates accumulate).

    The standard has no scatter; a one-hot matrix (len(indices) x n) turns it
    into a matrix product, exact for any number of duplicates.
    """
    xp = array_namespace(x, indices, values)
    n = x.shape[axis]
    indices = xp.where(indices < 0, indices + n, indices)
    onehot = xp.astype(indices[:, None] == xp.arange(n)[None, :], x.dtype)      # (k, n)
    moved = xp.moveaxis(values, axis, -1)                                        # (..., k)
    added = xp.moveaxis(xp.matmul(moved, onehot), -1, axis)                      # (..., n)
    return x + added


INDEXING_KERNELS = {f.__name__: f for f in (getitem, setitem, take, scatter_add)}
