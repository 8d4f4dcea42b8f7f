"""Sub-tensor (indexing) kernels: get/set, ``take`` and ``scatter_add`` (``np.add.at``)."""
from __future__ import annotations

import numpy as np

__all__ = ["SUBTENSOR_KERNELS"]


def getitem(x, key):
    return x[key]


def setitem(x, key, y, inc=False):
    out = np.array(x, copy=True)
    if inc:
        out[key] += y
    else:
        out[key] = y
    return out


def take(x, indices, axis=0):
    return np.take(x, indices, axis=axis)


def scatter_add(x, indices, values, axis=0):
    """``x`` plus ``values`` at ``indices`` along ``axis``; duplicates accumulate.

    ``np.add.at`` has had a fast path since numpy 1.25: measured on numpy 2.4
    it matches or beats both a sort + ``np.add.reduceat`` and ``np.bincount``
    (1-d) for every shape tried (decision D58; figures in bench/RESULTS.md), so it is used directly.
    """
    out = np.array(x, copy=True)
    np.add.at(out, (slice(None),) * axis + (np.asarray(indices),), values)
    return out


SUBTENSOR_KERNELS = {"getitem": getitem, "setitem": setitem, "take": take,
                     "scatter_add": scatter_add}
