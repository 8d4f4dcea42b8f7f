"""Sub-tensor (indexing) kernels: basic get/set, gather (``take``) and ``scatter_add``."""
from __future__ import annotations

from ._namespace import namespace

__all__ = ["SUBTENSOR_KERNELS", "nonnegative_indices"]


def _full_key(key, ndim):
    """The key with numpy's implicit trailing ``:`` made explicit (the standard wants them)."""
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        return key
    used = sum(k is not None for k in key)
    return key + (slice(None),) * (ndim - used)


def getitem(x, key):
    """``x[key]``; key: a tuple of slices, ints and None (basic indexing only)."""
    return x[_full_key(key, x.ndim)]


def setitem(x, key, y, inc=False):
    """A copy of ``x`` with ``x[key]`` set to ``y`` (or incremented by it when ``inc``)."""
    xp = namespace(x, y)
    out = xp.asarray(x, copy=True)
    key = _full_key(key, out.ndim)
    if any(k is None for k in key):
        # None selects nothing; drop it and give y the selection's shape without it
        plain = tuple(k for k in key if k is not None)
        y = xp.reshape(xp.broadcast_to(xp.asarray(y), out[key].shape), out[plain].shape)
        key = plain
    out[key] = out[key] + y if inc else y
    return out


def nonnegative_indices(indices, n, xp, axis):
    """``indices`` in ``[0, n)``: negative ones count from the end, as in numpy (the
    standard leaves them undefined); any outside ``[-n, n)`` raises ``IndexError``
    (the standard leaves that undefined too, and a segmented sum would drop it)."""
    if not indices.shape[0]:
        return indices
    lo, hi = int(xp.min(indices)), int(xp.max(indices))
    if lo < -n or hi >= n:
        valid = f"expected an index from {-n} to {n - 1}" if n else "the axis is empty"
        raise IndexError(f"index {hi if hi >= n else lo} is out of bounds for axis {axis} "
                         f"with size {n} ({valid})")
    return xp.where(indices < 0, indices + n, indices) if lo < 0 else indices


def take(x, indices, axis=0):
    """Gather ``x`` at the 1-d integer ``indices`` along ``axis``."""
    xp = namespace(x, indices)
    return xp.take(x, nonnegative_indices(indices, x.shape[axis], xp, axis), axis=axis)


def scatter_add(x, indices, values, axis=0):
    """``x`` plus ``values`` added at the 1-d ``indices`` along ``axis``; duplicates accumulate.

    ``values`` has the shape of ``x`` with ``len(indices)`` along ``axis``; an
    index outside ``[-n, n)`` raises ``IndexError``, as ``np.add.at`` does.
    The standard has gathers but no scatter, so this is a segmented sum:
    sort the indices, run a segmented inclusive scan over the sorted values
    (log2(k) shift-and-add steps; adds only, so an inf stays where it
    belongs, unlike a one-hot product where 0 * inf spreads NaN), and gather
    each target's total from the last element of its run.
    """
    xp = namespace(x, indices, values)
    n, k = x.shape[axis], indices.shape[0]
    if k == 0:
        return xp.asarray(x, copy=True)
    idx = nonnegative_indices(indices, n, xp, axis)
    order = xp.argsort(idx, stable=True)
    seg = xp.take(idx, order)                                    # sorted target of each value
    run = xp.take(xp.moveaxis(values, axis, 0), order, axis=0)   # (k, ...rest)
    lift = (k,) + (1,) * (run.ndim - 1)                          # seg broadcast over rest
    step = 1
    while step < k:
        same = xp.reshape(seg[step:] == seg[:-step], (k - step,) + lift[1:])
        head, prev = run[:step, ...], run[:-step, ...]
        tail = run[step:, ...] + xp.where(same, prev, xp.zeros_like(prev))
        run = xp.concat([head, tail], axis=0)
        step *= 2
    targets = xp.arange(n, dtype=seg.dtype)
    first = xp.searchsorted(seg, targets, side="left")
    last = xp.searchsorted(seg, targets, side="right")          # one past each run
    totals = xp.take(run, xp.clip(last - 1, 0, k - 1), axis=0)  # (n, ...rest)
    hit = xp.reshape(last > first, (n,) + lift[1:])
    added = xp.where(hit, totals, xp.zeros_like(totals))
    return x + xp.moveaxis(added, 0, axis)


SUBTENSOR_KERNELS = {f.__name__: f for f in (getitem, setitem, take, scatter_add)}
