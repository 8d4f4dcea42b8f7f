"""Reductions over the array API standard."""
from __future__ import annotations

from array_api_compat import array_namespace

__all__ = ["REDUCTION_KERNELS"]


def _reduce(name):
    def kernel(x, axis=None, keepdims=False):
        return getattr(array_namespace(x), name)(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = name
    return kernel


def _arg(name):
    def kernel(x, axis=None, keepdims=False):
        xp = array_namespace(x)
        if axis is None:
            flat = xp.reshape(x, (-1,))
            out = getattr(xp, name)(flat)
            return xp.reshape(out, (1,) * x.ndim) if keepdims else out
        return getattr(xp, name)(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = name
    return kernel


REDUCTION_KERNELS = {
    **{n: _reduce(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": _arg("argmax"), "argmin": _arg("argmin"),
}
