"""Reductions: cupy's own (the generic versions go through ``array_api_compat``,
a few microseconds more per call)."""
from __future__ import annotations

from ._cuda import cupy

__all__ = ["REDUCE_KERNELS"]


def _reduction(name: str):
    def kernel(x, axis=None, keepdims=False):
        return getattr(cupy(), name)(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def argmax(x, axis=None, keepdims=False):
    return cupy().argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return cupy().argmin(x, axis=axis, keepdims=keepdims)


REDUCE_KERNELS = {
    **{n: _reduction(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": argmax, "argmin": argmin,
}
