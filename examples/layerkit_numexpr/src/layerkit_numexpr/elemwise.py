"""``softplus`` by numexpr: one pass over memory, on numexpr's threads.

numpy's ``logaddexp(0, x)`` (the numpy backend's ``softplus``) spends about
20 ns per element in scalar ``exp`` and ``log1p`` on one core. numexpr
evaluates the same stable formula, ``max(x, 0) + log1p(exp(-|x|))``, in
blocks on all of its threads: about the same work per element, split across
cores. It costs some 20-40 us per call to start, so small arrays stay with the
backend's own kernel; ``bench.py`` measures where the two cross
(``LAYERKIT_NUMEXPR_MIN_SIZE`` moves the threshold, 0 sends everything to numexpr).
"""
from __future__ import annotations

import os
from typing import Any, Callable

import numexpr
import numpy as np

__all__ = ["SOFTPLUS", "DEFAULT_MIN_SIZE", "min_size", "make_softplus"]

#: finite for every x: exp only ever sees -|x| <= 0
SOFTPLUS = "where(x > 0, x, 0) + log1p(exp(-abs(x)))"
#: below this many elements the backend's own kernel is faster (bench.py, 2 threads)
DEFAULT_MIN_SIZE = 1 << 16
_FLOATS = (np.dtype("float32"), np.dtype("float64"))


def min_size() -> int:
    """The size from which numexpr is used: ``LAYERKIT_NUMEXPR_MIN_SIZE`` or the default."""
    value = os.environ.get("LAYERKIT_NUMEXPR_MIN_SIZE", "").strip()
    if not value:
        return DEFAULT_MIN_SIZE
    try:
        size = int(value)
    except ValueError:
        raise ValueError(f"LAYERKIT_NUMEXPR_MIN_SIZE must be a whole number of elements, "
                         f"got {value!r}") from None
    if size < 0:
        raise ValueError(f"LAYERKIT_NUMEXPR_MIN_SIZE must be >= 0, got {size}")
    return size


def make_softplus(fallback: Callable[..., Any], threshold: int) -> Callable[..., Any]:
    """A ``softplus(x, out=None)`` kernel: numexpr for float arrays of ``threshold``
    elements or more, ``fallback`` (the backend's own kernel) for everything else."""
    fallback_out = getattr(fallback, "accepts_out", False)

    def softplus(x, out=None):
        if (type(x) is np.ndarray and x.size >= threshold and x.dtype in _FLOATS
                and (out is None or (type(out) is np.ndarray and out.shape == x.shape
                                     and out.dtype == x.dtype and out.flags.c_contiguous))):
            return numexpr.evaluate(SOFTPLUS, local_dict={"x": x}, out=out)
        if out is not None and fallback_out:
            return fallback(x, out=out)
        result = fallback(x)
        if out is None:
            return result
        out[...] = result
        return out

    softplus.accepts_out = True       # the compiler may hand it a buffer to fill
    softplus.threshold = threshold
    softplus.fallback = fallback
    return softplus
