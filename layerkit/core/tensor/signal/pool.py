"""``theano.tensor.signal.pool``: ``pool_2d`` and the old ``max_pool_2d``."""
from __future__ import annotations

import warnings

from ...graph import as_variable
from ...ops.conv import Pool2D

__all__ = ["pool_2d", "max_pool_2d", "max_pool_2d_same_size"]


def _pair(v, what):
    if v is None:
        return None
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) != 2:
        raise ValueError(f"pool_2d: {what} must be a pair, got {v}")
    return v


def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max",
            ds=None, st=None, padding=None):
    """Pool the last two dimensions of ``input`` over windows ``ws``.

    ``mode``: 'max', 'sum', 'average_inc_pad' or 'average_exc_pad'. An omitted
    ``ignore_border`` means False, with Theano 1.0's warning.
    """
    ws = _pair(ws if ws is not None else ds, "ws")
    if ws is None:
        raise TypeError("pool_2d: the window size ws is required")
    stride = _pair(stride if stride is not None else st, "stride") or ws
    pad = _pair(padding if padding is not None else pad, "pad")
    if ignore_border is None:
        warnings.warn("pool_2d: ignore_border was not given; it defaults to False as in Theano "
                      "(partial windows at the border are pooled). Pass it explicitly to "
                      "silence this.", UserWarning, stacklevel=2)
        ignore_border = False
    if mode == "average":
        mode = "average_inc_pad"
    x = as_variable(input)
    if x.ndim < 2:
        raise ValueError(f"pool_2d needs at least a 2-d input, got shape {x.type.shape}")
    op = Pool2D(ws, stride, pad, mode, ignore_border)
    if x.ndim == 4:
        return op(x)
    from .. import basic as T
    lead = [x.shape[i] for i in range(x.ndim - 2)]
    rows, cols = x.shape[x.ndim - 2], x.shape[x.ndim - 1]
    x4 = T.reshape(x, [-1, 1, rows, cols])
    out = op(x4)
    return T.reshape(out, lead + [out.shape[2], out.shape[3]])


def max_pool_2d(input, ds, ignore_border=False, st=None, padding=(0, 0), mode="max"):
    """The old interface: keywords ``ds``, ``st``, ``padding``; ``ignore_border=False``."""
    return pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)


def max_pool_2d_same_size(input, patch_size):
    raise NotImplementedError("max_pool_2d_same_size is not implemented")
