"""Minibatches of equally long arrays, in order or shuffled."""
from __future__ import annotations

import numpy as np

from ..random import get_rng

__all__ = ["iterate_minibatches", "as_arrays"]


def as_arrays(data, what="data"):
    """``data`` (an array or a sequence of arrays of equal length) as a tuple of arrays."""
    if isinstance(data, np.ndarray):
        data = (data,)
    if not isinstance(data, (tuple, list)) or not data:
        raise TypeError(f"{what}: expected an array or a tuple of arrays (such as (X, y)), "
                        f"got {type(data).__name__}")
    arrays = tuple(np.asarray(a) for a in data)
    if any(a.ndim == 0 for a in arrays):
        raise ValueError(f"{what}: every array needs a first (example) dimension; got shapes "
                         f"{[a.shape for a in arrays]}")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) != 1:
        raise ValueError(f"{what}: the arrays must have the same number of examples (first "
                         f"dimension); got {lengths}")
    if lengths[0] == 0:
        raise ValueError(f"{what}: the arrays hold no examples")
    return arrays


def iterate_minibatches(*arrays, batch_size, shuffle=False, rng=None):
    """Yield tuples of slices of ``arrays`` with ``batch_size`` examples each.

    The last batch holds the remainder (it may be smaller). With ``shuffle``
    the order is a permutation drawn from ``rng`` (a numpy ``RandomState`` or
    ``Generator``; default: :func:`layerkit.random.get_rng`).
    """
    arrays = as_arrays(arrays, "iterate_minibatches")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"iterate_minibatches: batch_size must be a positive integer, got "
                         f"{batch_size!r}")
    n = len(arrays[0])
    if shuffle:
        if rng is None:
            rng = get_rng()
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            yield tuple(a[idx] for a in arrays)
    else:
        for start in range(0, n, batch_size):
            yield tuple(a[start:start + batch_size] for a in arrays)
