"""Per-thread scratch buffers shared by the convolution and pooling kernels.

All layers of a network share them, so the memory held is the largest
layer's, not the sum; no kernel ever returns one (results are fresh arrays).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

__all__ = ["scratch", "filled", "clear_buffers", "MAX_BUFFERS"]

#: at most this many padded buffers are kept per thread (least recently used go first)
MAX_BUFFERS = 32


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.arenas: dict = {}                  # (role, dtype) -> flat array, grown as needed
        self.filled: OrderedDict = OrderedDict()  # buffers whose untouched cells hold a fill


_SCRATCH = _Scratch()


def clear_buffers() -> None:
    """Drop this thread's scratch buffers (they are rebuilt on the next call)."""
    _SCRATCH.arenas.clear()
    _SCRATCH.filled.clear()


def scratch(role, shape, dtype) -> np.ndarray:
    """A reused buffer of ``shape``, uninitialised: the front of this thread's arena for
    ``role``, which grows to the largest size asked for. All layers of a network share it,
    so the memory held is the largest layer's, not the sum; one kernel call uses each role
    at most once, and no result ever aliases an arena."""
    dtype = np.dtype(dtype)
    size = 1
    for s in shape:
        size *= int(s)
    key = (role, dtype.str)
    flat = _SCRATCH.arenas.get(key)
    if flat is None or flat.size < size:
        _SCRATCH.arenas.pop(key, None)          # free the old one before allocating
        flat = _SCRATCH.arenas[key] = np.empty(max(size, 1), dtype)
    return flat[:size].reshape(shape)


def filled(key, shape, dtype, fill) -> np.ndarray:
    """A reused buffer first filled with ``fill``; cells the callers never write keep it.

    ``key`` must pin down which cells the callers write (it includes the placement of
    the interior), so that one buffer always has the same border.
    """
    dtype = np.dtype(dtype)
    full_key = (key, tuple(shape), dtype.str, fill)
    bufs = _SCRATCH.filled
    buf = bufs.get(full_key)
    if buf is None:
        buf = bufs[full_key] = np.full(shape, fill, dtype)
        while len(bufs) > MAX_BUFFERS:
            bufs.popitem(last=False)
    else:
        bufs.move_to_end(full_key)
    return buf

