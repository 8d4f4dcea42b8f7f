"""Fast numpy kernels for 2-D pooling of the last two axes (NCHW images).

Semantics are those of the generic kernels (``layerkit.backend.kernels.pool``);
only the speed differs (measured, see ``docs/decisions.md``):

* **Max-pooling** is an elementwise ``np.maximum`` over the ``ws[0] * ws[1]``
  strided views of the input (no reshape, no copy of the input). Its gradient
  goes to the first maximum of each window in window order (decision D62): the
  views are visited in that order, ``hit = (view == out) & free`` with ``free``
  a boolean mask of the windows whose maximum is not found yet, and
  ``hit * gout`` is assigned directly when windows do not overlap, added
  otherwise. On (32, 64, 56, 56) float32 this backward is as fast as the
  every-tie rule's for disjoint windows (2x2 stride 2, ~15 ms) and 2-10 %
  slower for overlapping ones (3x3 stride 2: ~68 ms against ~65; the
  boolean-times-float products cast). Keeping a float ``rest`` of the
  windows' unclaimed gradient instead of the mask measured the same.
  The forward does not hand its argmax to the backward: recording it costs the
  forward more (a comparison and a masked store per view, +55 ms there) than
  it saves the backward (~30 ms), and inference would pay it too (measured, D62).
"""
from __future__ import annotations

import numpy as np

from layerkit.backend import GENERIC_KERNELS, check_pool_params, pool_divisors, pool_geometry

from ._buffers import filled, scratch

__all__ = ["NUMPY_POOL_KERNELS", "pool2d", "pool2d_grad"]


def _lowest(dtype):
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    if dtype == np.bool_:
        return False
    return np.iinfo(dtype).min


def _tap_slices(i, j, stride, counts):
    """Slices of tap ``(i, j)`` for its first ``counts`` windows along each axis."""
    return (slice(i, i + (counts[0] - 1) * stride[0] + 1, stride[0]),
            slice(j, j + (counts[1] - 1) * stride[1] + 1, stride[1]))


def _pool_taps(src_hw, ws, stride, out_hw):
    """``(i, j, src_slices, counts)`` for every tap; ``counts`` windows reach the tap's cell.

    Windows near the end may be cut by the input's end (``ignore_border=False``):
    tap ``i`` then serves only the first ``(rows - 1 - i) // stride + 1`` windows.
    Tap ``(0, 0)`` always serves every window.
    """
    for i in range(ws[0]):
        ni = min(out_hw[0], (src_hw[0] - 1 - i) // stride[0] + 1)
        if ni <= 0:
            continue
        for j in range(ws[1]):
            nj = min(out_hw[1], (src_hw[1] - 1 - j) // stride[1] + 1)
            if nj <= 0:
                continue
            yield i, j, _tap_slices(i, j, stride, (ni, nj)), (ni, nj)


def _divisor(x_shape, ws, stride, pad, out_hw, mode, dtype):
    if mode in ("max", "sum"):
        return None
    rows, cols = (pool_divisors(x_shape[2 + a], ws[a], stride[a], pad[a], out_hw[a], mode)
                  for a in range(2))
    if len(set(rows)) == 1 and len(set(cols)) == 1:
        return dtype.type(rows[0] * cols[0])
    return np.multiply.outer(np.asarray(rows, dtype), np.asarray(cols, dtype))


def _pool_source(x, pad, mode):
    """``x`` itself, or (with padding) a reused padded copy whose border never wins."""
    if not any(pad):
        return x
    n, c, h, w = x.shape
    fill = _lowest(x.dtype) if mode == "max" else 0
    buf = filled(("poolpad", pad, h, w), (n, c, h + 2 * pad[0], w + 2 * pad[1]), x.dtype, fill)
    buf[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    return buf


def pool2d(x, ws=(2, 2), stride=None, pad=(0, 0), mode="max", ignore_border=True):
    """Pool the last two axes of the 4-d ``x`` with Theano's semantics (see the generic kernel)."""
    x = np.asarray(x)
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    if mode.startswith("average") and not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"pool2d mode {mode!r} needs a floating-point input, got {x.dtype}")
    n, c = x.shape[:2]
    out_hw, _ = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    if out_hw[0] == 0 or out_hw[1] == 0:
        return np.zeros((n, c) + out_hw, x.dtype)
    src = _pool_source(x, pad, mode)
    combine = np.maximum if mode == "max" else np.add
    taps = list(_pool_taps(src.shape[2:], ws, stride, out_hw))
    first = src[:, :, taps[0][2][0], taps[0][2][1]]           # tap (0, 0): every window
    if len(taps) > 1 and taps[1][3] == out_hw:              # combine the first two taps at once
        acc = combine(first, src[:, :, taps[1][2][0], taps[1][2][1]])
        rest = taps[2:]
    else:
        acc = np.array(first, copy=True)
        rest = taps[1:]
    for i, j, (rs, cs), (ni, nj) in rest:
        part = acc[:, :, :ni, :nj]
        combine(part, src[:, :, rs, cs], out=part)
    div = _divisor(x.shape, ws, stride, pad, out_hw, mode, x.dtype)
    if div is not None:
        np.divide(acc, div, out=acc)
    return acc


def _max_grad_source(x, pad):
    """``x``, or (with padding) a padded copy whose border never equals any maximum:
    NaN for floats; ``None`` for the other dtypes (their border, the dtype's lowest
    value, may equal a window's maximum)."""
    if not any(pad):
        return x
    if not np.issubdtype(x.dtype, np.floating):
        return None
    n, c, h, w = x.shape
    buf = filled(("poolpad", pad, h, w), (n, c, h + 2 * pad[0], w + 2 * pad[1]), x.dtype,
                 np.nan)
    buf[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x
    return buf


def pool2d_grad(x, out, gout, ws=(2, 2), stride=None, pad=(0, 0), mode="max",
                ignore_border=True):
    """The gradient of ``pool2d``: max to the first maximum of each window in window
    order (row-major within the window; padding never), sums and averages spread over
    the window as the forward divided."""
    x, out, gout = np.asarray(x), np.asarray(out), np.asarray(gout)
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    n, c, h, w = x.shape
    out_hw, _ = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    if gout.shape != (n, c) + out_hw:
        raise ValueError(f"pool2d_grad: the output gradient has shape {gout.shape}, "
                         f"expected {(n, c) + out_hw}")
    dtype = np.result_type(x.dtype, gout.dtype)
    padded = any(pad)
    if out_hw[0] == 0 or out_hw[1] == 0:
        return np.zeros(x.shape, dtype)
    if mode == "max":
        src = _max_grad_source(x, pad)
        if src is None:    # integers with padding: the generic kernel masks the border
            return GENERIC_KERNELS["pool2d_grad"](x, out, gout, ws, stride, pad, mode,
                                                  ignore_border)
    covers = (not padded and stride == ws and out_hw[0] * ws[0] == h
              and out_hw[1] * ws[1] == w)   # the windows tile the input exactly
    disjoint = stride[0] >= ws[0] and stride[1] >= ws[1]
    if padded:
        gx = scratch("poolgrad", (n, c, h + 2 * pad[0], w + 2 * pad[1]), dtype)
        gx.fill(0)
    else:
        gx = np.empty(x.shape, dtype) if covers else np.zeros(x.shape, dtype)
    if mode == "max":
        finite = gout.dtype.kind not in "fc" or bool(np.isfinite(gout).all())
        hits = scratch("poolhits", (n, c) + out_hw, np.bool_)
        free = scratch("poolfree", (n, c) + out_hw, np.bool_)   # no maximum found yet
        part = None if disjoint else scratch("poolpart", (n, c) + out_hw, dtype)
        taps = list(_pool_taps(src.shape[2:], ws, stride, out_hw))
        for k, (i, j, (rs, cs), (ni, nj)) in enumerate(taps):   # in window order
            hit, fr = hits[:, :, :ni, :nj], free[:, :, :ni, :nj]
            np.equal(src[:, :, rs, cs], out[:, :, :ni, :nj], out=hit)
            if k == 0:                    # tap (0, 0) serves every window
                np.logical_not(hit, out=fr)
            else:
                np.logical_and(hit, fr, out=hit)
                if k < len(taps) - 1:
                    np.logical_xor(fr, hit, out=fr)     # hit implies free: free & ~hit
            dst = gx[:, :, rs, cs] if disjoint else part[:, :, :ni, :nj]
            if finite:
                np.multiply(hit, gout[:, :, :ni, :nj], out=dst)
            else:                         # 0 * inf is NaN: select instead of multiplying
                dst.fill(0)
                np.copyto(dst, gout[:, :, :ni, :nj], where=hit)
            if not disjoint:
                gx[:, :, rs, cs] += dst
    else:
        div = _divisor(x.shape, ws, stride, pad, out_hw, mode, dtype)
        g = gout if div is None else gout / div
        for i, j, (rs, cs), (ni, nj) in _pool_taps(gx.shape[2:], ws, stride, out_hw):
            if disjoint:
                gx[:, :, rs, cs] = g[:, :, :ni, :nj]
            else:
                gx[:, :, rs, cs] += g[:, :, :ni, :nj]
    if padded:
        return gx[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w].copy()
    return gx



NUMPY_POOL_KERNELS = {"pool2d": pool2d, "pool2d_grad": pool2d_grad}
