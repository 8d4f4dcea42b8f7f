"""Reductions over the array API standard.

``axis`` is None or a tuple of non-negative ints (an int for argmax/argmin),
already normalised by the core.
"""
from __future__ import annotations

from ._namespace import namespace

__all__ = ["REDUCE_KERNELS"]


def _reduce(name):
    def kernel(x, axis=None, keepdims=False):
        return getattr(namespace(x), name)(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"``{name}(x, axis=None, keepdims=False)``: the standard's ``{name}``."
    return kernel


def _arg(name):
    def kernel(x, axis=None, keepdims=False):
        xp = namespace(x)
        if axis is None:
            # the standard's argmax over all axes is defined on the flattened array
            out = getattr(xp, name)(xp.reshape(x, (-1,)))
            return xp.reshape(out, (1,) * x.ndim) if keepdims else out
        return getattr(xp, name)(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"``{name}(x, axis=None, keepdims=False)``: the index of the first extremum."
    return kernel


def cumsum(x, axis=0):
    """``cumsum(x, axis)``: running sums along ``axis`` (a non-negative int), the input's
    dtype (the core casts narrow integers first); the standard's ``cumulative_sum``."""
    xp = namespace(x)
    return xp.cumulative_sum(x, axis=axis, dtype=x.dtype)


def cumprod(x, axis=0):
    """``cumprod(x, axis)``: running products along ``axis``, the input's dtype; the
    standard's ``cumulative_prod`` (2024.12), else one product per position."""
    xp = namespace(x)
    if hasattr(xp, "cumulative_prod"):
        return xp.cumulative_prod(x, axis=axis, dtype=x.dtype)
    n = x.shape[axis]
    if n == 0:
        return xp.asarray(x, copy=True)
    key = [slice(None)] * x.ndim
    key[axis] = slice(0, 1)
    parts = [x[tuple(key)]]
    for i in range(1, n):
        key[axis] = slice(i, i + 1)
        parts.append(parts[-1] * x[tuple(key)])
    return xp.concat(parts, axis=axis)


REDUCE_KERNELS = {
    "cumsum": cumsum, "cumprod": cumprod,
    **{n: _reduce(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": _arg("argmax"), "argmin": _arg("argmin"),
}
