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


REDUCE_KERNELS = {
    **{n: _reduce(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": _arg("argmax"), "argmin": _arg("argmin"),
}
