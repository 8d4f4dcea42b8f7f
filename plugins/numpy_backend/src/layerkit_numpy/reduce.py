"""Reductions: the ndarray methods, and numpy's argmax/argmin."""
from __future__ import annotations

import numpy as np

__all__ = ["REDUCE_KERNELS"]


def _reduction(method):
    fn = getattr(np, method)

    def kernel(x, axis=None, keepdims=False):
        # the ndarray method skips numpy's Python-level dispatch (about 1 us a call)
        if type(x) is np.ndarray:
            return getattr(x, method)(axis=axis, keepdims=keepdims)
        return fn(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = kernel.__qualname__ = fn.__name__
    return kernel


def argmax(x, axis=None, keepdims=False):
    return np.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return np.argmin(x, axis=axis, keepdims=keepdims)


REDUCE_KERNELS = {
    **{n: _reduction(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": argmax, "argmin": argmin,
}
