"""2-D pooling kernels written against the Python array API standard alone.

Pooling works on the last two axes of a 4-d input, with Theano's semantics:

* Output length: with ``ignore_border=True``, ``(n + 2 * pad - ws) // stride + 1``
  (never below 0); without it a last, partial window at the end counts
  (``pool_out_len``). Padding needs ``ignore_border=True``.
* Window ``k`` covers the cells ``[k * stride, k * stride + ws)`` of the padded
  input, clipped at the padded input's end (only ``ignore_border=False``
  windows are ever clipped, and there the padding is zero).
* ``max`` and ``sum`` see only real cells (padding never wins a max);
  ``average_exc_pad`` divides the sum by the number of real cells in the window;
  ``average_inc_pad`` divides by the window's size counted in the padded input
  (padding cells included, a window clipped at the end counting only its
  cells), which is ``ws[0] * ws[1]`` whenever ``ignore_border=True``.

Each kernel is a loop over the ``ws[0] * ws[1]`` window taps: tap ``(i, j)``
is a strided slice of the padded input, combined by ``maximum`` or ``+``.
``pool2d_grad`` is the adjoint. The max gradient of a window goes to **one**
cell: the first real cell, in window order (row-major within the window), equal
to the window's maximum -- what PyTorch and cuDNN do, and the only rule under
which overlapping pools compose: a 3x3 stride-2 max-pool outputs copies of one
input cell, the next max-pool sees them tied, and sending the gradient to every
tied element would count that cell twice (decision D62). Padding cells never
receive it. Sums and averages spread the output gradient over the window,
divided as the forward divided.
"""
from __future__ import annotations

import math

from ._namespace import namespace

__all__ = ["POOL_KERNELS", "POOL_MODES", "pool_out_len", "pool_divisors", "pool2d", "pool2d_grad"]

POOL_MODES = ("max", "sum", "average_inc_pad", "average_exc_pad")


def pool_out_len(size: int, ws: int, stride: int, pad: int, ignore_border: bool) -> int:
    """Number of windows along one axis (Theano's rule)."""
    if ignore_border:
        return max(0, (size + 2 * pad - ws) // stride + 1)
    if stride >= ws:
        return (size - 1) // stride + 1
    return max(0, (size - 1 - ws + stride) // stride) + 1


def pool_divisors(size: int, ws: int, stride: int, pad: int, n_out: int, mode: str) -> list:
    """Per-window divisors along one axis for the average modes (1 for max and sum)."""
    if mode == "average_inc_pad":
        end = size + 2 * pad
        return [min(k * stride + ws, end) - k * stride for k in range(n_out)]
    if mode == "average_exc_pad":
        return [min(k * stride + ws, pad + size) - max(k * stride, pad) for k in range(n_out)]
    return [1] * n_out


def check_pool_params(x_shape, ws, stride, pad, mode, ignore_border):
    """Validated ``(ws, stride, pad)`` integer pairs; raises ValueError naming the problem."""
    if mode not in POOL_MODES:
        raise ValueError(f"pooling mode must be one of {POOL_MODES}, got {mode!r}")
    if len(x_shape) != 4:
        raise ValueError(f"pool2d expects a 4-d input, got shape {tuple(x_shape)}")
    ws = tuple(int(v) for v in ws)
    stride = ws if stride is None else tuple(int(v) for v in stride)
    pad = tuple(int(v) for v in pad)
    if min(ws) < 1 or min(stride) < 1 or min(pad) < 0:
        raise ValueError(f"pooling needs positive window and stride and non-negative padding, "
                         f"got ws={ws}, stride={stride}, pad={pad}")
    if any(pad) and not ignore_border:
        raise ValueError("pooling with padding needs ignore_border=True (as in Theano)")
    if any(p >= w for p, w in zip(pad, ws)):
        raise ValueError(f"pooling padding {pad} must be smaller than the window {ws}")
    return ws, stride, pad


def pool_geometry(x_shape, ws, stride, pad, ignore_border):
    """``(out_hw, buf_hw)``: the output size and the padded-buffer size every tap fits in."""
    out = tuple(pool_out_len(x_shape[2 + a], ws[a], stride[a], pad[a], ignore_border)
                for a in range(2))
    buf = tuple(max(x_shape[2 + a] + 2 * pad[a], (out[a] - 1) * stride[a] + ws[a])
                for a in range(2))
    return out, buf


def _tap(i, j, out_hw, stride):
    return (slice(i, i + (out_hw[0] - 1) * stride[0] + 1, stride[0]),
            slice(j, j + (out_hw[1] - 1) * stride[1] + 1, stride[1]))


def _device(x):
    from array_api_compat import device
    return device(x)


def _lowest(xp, dtype):
    if xp.isdtype(dtype, "real floating"):
        return -math.inf
    if dtype == xp.bool:
        return False
    return xp.iinfo(dtype).min


def _buffer(xp, x, pad, buf_hw, fill):
    """``x`` placed at ``pad`` in a ``buf_hw`` buffer filled with ``fill`` (``x`` if it fits)."""
    n, c, h, w = x.shape
    if buf_hw == (h, w):
        return x
    buf = xp.full((n, c) + buf_hw, fill, dtype=x.dtype, device=_device(x))
    buf[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    return buf


def _divisor(xp, x_shape, ws, stride, pad, out_hw, mode, dtype, device):
    """A scalar or an ``(rows, cols)`` array dividing the window sums; None for none."""
    if mode in ("max", "sum"):
        return None
    rows, cols = (pool_divisors(x_shape[2 + a], ws[a], stride[a], pad[a], out_hw[a], mode)
                  for a in range(2))
    if len(set(rows)) <= 1 and len(set(cols)) <= 1:
        return float((rows[0] if rows else 1) * (cols[0] if cols else 1))
    r = xp.asarray(rows, dtype=dtype, device=device)
    c = xp.asarray(cols, dtype=dtype, device=device)
    return r[:, None] * c[None, :]


def pool2d(x, ws=(2, 2), stride=None, pad=(0, 0), mode="max", ignore_border=True):
    """Pool the last two axes of the 4-d ``x`` (see the module's docstring for the rules)."""
    xp = namespace(x)
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    n, c = x.shape[:2]
    out_hw, buf_hw = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    if mode.startswith("average") and not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"pool2d mode {mode!r} needs a floating-point input, got {x.dtype}")
    if out_hw[0] == 0 or out_hw[1] == 0:
        return xp.zeros((n, c) + out_hw, dtype=x.dtype, device=_device(x))
    fill = _lowest(xp, x.dtype) if mode == "max" else 0
    buf = _buffer(xp, x, pad, buf_hw, fill)
    acc = None
    for i in range(ws[0]):
        for j in range(ws[1]):
            rs, cs = _tap(i, j, out_hw, stride)
            tap = buf[:, :, rs, cs]
            if acc is None:
                acc = tap
            elif mode == "max":
                acc = xp.maximum(acc, tap)
            else:
                acc = acc + tap
    div = _divisor(xp, x.shape, ws, stride, pad, out_hw, mode, x.dtype, _device(x))
    if div is not None:
        acc = acc / div
    elif ws == (1, 1):
        acc = xp.asarray(acc, copy=True)   # a fresh array, never a view of the input
    return acc


def pool2d_grad(x, out, gout, ws=(2, 2), stride=None, pad=(0, 0), mode="max",
                ignore_border=True):
    """The gradient of ``pool2d`` with respect to ``x``, given its output ``out`` and ``gout``."""
    xp = namespace(x, out, gout)
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    n, c, h, w = x.shape
    out_hw, buf_hw = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    if tuple(gout.shape) != (n, c) + out_hw:
        raise ValueError(f"pool2d_grad: the output gradient has shape {tuple(gout.shape)}, "
                         f"expected {(n, c) + out_hw}")
    gbuf = xp.zeros((n, c) + buf_hw, dtype=gout.dtype, device=_device(x))
    if out_hw[0] and out_hw[1]:
        if mode == "max":
            xbuf = _buffer(xp, x, pad, buf_hw, _lowest(xp, x.dtype))
            # the real cells (padding and the cells past a clipped window's end never win)
            real = None if buf_hw == (h, w) else _buffer(
                xp, xp.ones(x.shape, dtype=xp.bool, device=_device(x)), pad, buf_hw, False)
            free = xp.ones(gout.shape, dtype=xp.bool, device=_device(x))  # no max found yet
            zero = xp.zeros_like(gout)
        else:
            div = _divisor(xp, x.shape, ws, stride, pad, out_hw, mode, gout.dtype, _device(x))
            g = gout if div is None else gout / div
        for i in range(ws[0]):             # taps in window order: row-major within the window
            for j in range(ws[1]):
                rs, cs = _tap(i, j, out_hw, stride)
                if mode == "max":
                    hit = (xbuf[:, :, rs, cs] == out) & free
                    if real is not None:
                        hit = hit & real[:, :, rs, cs]
                    free = free & ~hit     # the window's first maximum takes its gradient
                    g = xp.where(hit, gout, zero)
                gbuf[:, :, rs, cs] = gbuf[:, :, rs, cs] + g
    if buf_hw == (h, w):
        return gbuf
    return gbuf[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w]


POOL_KERNELS = {"pool2d": pool2d, "pool2d_grad": pool2d_grad}
