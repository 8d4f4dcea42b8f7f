"""Fast numpy kernels for 2-D pooling of the last two axes (NCHW images).

Semantics are those of the generic kernels (``layerkit.backend.kernels.pool``);
only the speed differs (measured, see ``docs/decisions.md`` and the figures below).
Two layouts, chosen by ``_direct``:

* **Disjoint, unpadded, whole windows** (2x2 stride 2 on an even image): the
  ``ws[0] * ws[1]`` strided views of the input itself. Max-pooling is
  ``np.maximum`` over them (no copy of the input). Its gradient goes to the
  first maximum of each window in window order (decision D62): the views are
  visited in that order, ``hit = (view == out) & free`` with ``free`` a boolean
  mask of the windows whose maximum is not found yet, and ``hit * gout`` is
  assigned to the strided view of the gradient.
* **Everything else** (overlapping windows, padding, windows cut by
  ``ignore_border=False``): the **polyphase layout** (``_phase_plan``). The input
  is copied once into ``s0 * s1`` phase grids ``src[a::s0, b::s1]`` stored flat,
  padding and cut windows filled with a value that never wins (``-inf`` or the
  lowest integer forward, NaN in the gradient, which equals nothing); every tap
  is then one contiguous, shifted slice of a phase, so the per-tap comparisons,
  masks and additions run on whole contiguous arrays (numpy's strided loops over
  short rows cost 5-10x more per element). The gradient accumulates into phase
  grids in window order and is copied back once. Both layouts add in the generic
  kernels' order, so the results are the same bit for bit.

Measured on this 2-core machine, one thread, float32, medians of interleaved
repeats (bench/RESULTS.md has the figures the lead engineer keeps): 3x3 stride 2
on (128, 32, 28, 28) gradient 18.5 -> 10.8 ms, forward 4.0 -> 3.3; 2x2 on
(128, 64, 13, 13) without ``ignore_border`` gradient 10.9 -> 3.3 ms; on
(128, 128, 5, 5) 6.5 -> 1.7 ms. The forward does not hand its argmax to the
backward: recording it costs the forward about what it saves the backward, and
inference would pay it too (measured, D62).
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


def _direct(x_shape, ws, stride, pad, out_hw):
    """Whether the windows are disjoint, unpadded and whole (every tap serves every
    window): then strided views of the input itself are as cheap as the polyphase
    layout's copies (2x2 stride 2 on (128, 32, 30, 30): forward 2.7 ms direct against
    3.7 ms in phases, gradient 9.6 against 9.3)."""
    return (not any(pad) and stride[0] >= ws[0] and stride[1] >= ws[1]
            and all((out_hw[a] - 1) * stride[a] + ws[a] <= x_shape[2 + a] for a in range(2)))


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
    if not _direct(x.shape, ws, stride, pad, out_hw):
        acc = _pool2d_phases(x, ws, stride, pad, out_hw, mode)
        div = _divisor(x.shape, ws, stride, pad, out_hw, mode, x.dtype)
        if div is not None:
            np.divide(acc, div, out=acc)
        return acc
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
    if mode == "max" and np.issubdtype(x.dtype, np.floating) and not _direct(
            x.shape, ws, stride, pad, out_hw):
        return _max_grad_phases(x, out, gout, ws, stride, pad, out_hw, dtype)
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


# -- the polyphase layout ----------------------------------------------------------------

def _phase_plan(x_shape, ws, stride, pad, out_hw):
    """The polyphase layout of the windows (used when they overlap or need padding).

    Phase ``(a, b)`` is the grid ``src[a::s0, b::s1]`` of the padded source, an
    ``(N, hg, wg)`` array stored flat (``N = n * c``) with ``tail`` spare cells after it;
    tap ``(i, j)`` of window ``(r, c)`` is cell ``(r + i // s0, c + j // s1)`` of phase
    ``(i % s0, j % s1)``, so every tap is one *contiguous* slice of a phase, shifted by
    ``(i // s0) * wg + j // s1``: the per-tap work runs on whole contiguous arrays
    instead of strided views with short rows (5-10x cheaper per element in numpy).
    Grid cells past ``(oh, ow)`` are windows that do not exist; their output
    gradient is zero. Returns ``(hg, wg, size, tail, copies, covered)`` where
    ``copies`` lists ``(a, b, grid_slices, x_slices)`` placing the input in each
    phase and ``covered`` says whether the copies reach every input cell."""
    n, c, h, w = x_shape
    s0, s1 = stride
    hg = out_hw[0] + (ws[0] - 1) // s0
    wg = out_hw[1] + (ws[1] - 1) // s1
    size = n * c * hg * wg
    tail = ((ws[0] - 1) // s0) * wg + (ws[1] - 1) // s1
    copies, rows_seen, cols_seen = [], 0, 0
    ranges = []
    for axis, (length, s, p, g, k) in enumerate(((h, s0, pad[0], hg, ws[0]),
                                                 (w, s1, pad[1], wg, ws[1]))):
        per = []
        for a in range(min(s, k)):                      # phases some tap reads
            lo = max(0, -(-(p - a) // s))               # first grid cell inside the input
            hi = min(g, (length - 1 + p - a) // s + 1)  # one past the last
            if hi > lo:
                start = a + s * lo - p
                per.append((a, slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)))
        ranges.append(per)
    for a, gr, xr in ranges[0]:
        for b, gc, xc in ranges[1]:
            copies.append((a, b, (gr, gc), (xr, xc)))
    covered = (sum(g.stop - g.start for _, g, _ in ranges[0]) == h
               and sum(g.stop - g.start for _, g, _ in ranges[1]) == w)
    return hg, wg, size, tail, copies, covered


def _phases(x3, ws, stride, pad, plan, fill, role):
    """The phase grids of ``x3`` (``(N, h, w)``): a reused ``(min(s0, ws0), min(s1, ws1),
    size + tail)`` buffer whose cells outside the input keep ``fill``."""
    hg, wg, size, tail, copies, _ = plan
    N, h, w = x3.shape
    shape = (min(stride[0], ws[0]), min(stride[1], ws[1]), size + tail)
    buf = filled((role, ws, stride, pad, N, h, w, hg, wg), shape, x3.dtype, fill)
    for a, b, (gr, gc), (xr, xc) in copies:
        buf[a, b, :size].reshape(N, hg, wg)[:, gr, gc] = x3[:, xr, xc]
    return buf


def _on_grid(v, plan, role, fill):
    """``v`` (``(n, c, oh, ow)``) as a flat array in the grid layout (junk cells ``fill``)."""
    hg, wg, size = plan[:3]
    n, c, oh, ow = v.shape
    if (oh, ow) == (hg, wg):
        return np.ascontiguousarray(v).reshape(size)
    g = scratch(role, (size,), v.dtype)
    g3 = g.reshape(n * c, hg, wg)
    if fill is not None:
        g3[:, oh:, :] = fill
        g3[:, :oh, ow:] = fill
    g3[:, :oh, :ow] = v.reshape(n * c, oh, ow)
    return g


def _taps_on_grid(ws, stride, wg):
    """``(a, b, shift)`` per tap, in window order."""
    return [(i % stride[0], j % stride[1], (i // stride[0]) * wg + j // stride[1])
            for i in range(ws[0]) for j in range(ws[1])]


def _pool2d_phases(x, ws, stride, pad, out_hw, mode):
    n, c, h, w = x.shape
    plan = _phase_plan(x.shape, ws, stride, pad, out_hw)
    hg, wg, size = plan[:3]
    fill = _lowest(x.dtype) if mode == "max" else 0
    src = _phases(x.reshape(n * c, h, w), ws, stride, pad, plan, fill, "poolsrc")
    combine = np.maximum if mode == "max" else np.add
    taps = _taps_on_grid(ws, stride, wg)
    (a, b, s), (a2, b2, s2) = taps[0], taps[1] if len(taps) > 1 else (None, None, None)
    if len(taps) > 1:
        acc = combine(src[a, b, s:s + size], src[a2, b2, s2:s2 + size])
        rest = taps[2:]
    else:
        acc = src[a, b, s:s + size].copy()
        rest = ()
    for a, b, s in rest:
        combine(acc, src[a, b, s:s + size], out=acc)
    acc = acc.reshape(n, c, hg, wg)
    if (hg, wg) != out_hw:
        acc = acc[:, :, :out_hw[0], :out_hw[1]].copy()
    return acc


def _max_grad_phases(x, out, gout, ws, stride, pad, out_hw, dtype):
    """The max gradient in the polyphase layout (floating-point ``x``: NaN marks the
    cells outside the input, which never equal a maximum)."""
    n, c, h, w = x.shape
    plan = _phase_plan(x.shape, ws, stride, pad, out_hw)
    hg, wg, size, tail, copies, covered = plan
    src = _phases(x.reshape(n * c, h, w), ws, stride, pad, plan, np.nan, "poolgsrc")
    out_g = _on_grid(out, plan, "pooloutg", None)
    gout_g = _on_grid(gout, plan, "poolgoutg", 0)
    taps = _taps_on_grid(ws, stride, wg)
    disjoint = all(s == 0 for _, _, s in taps)      # one tap per phase, no shift
    g = scratch("poolgphase", (min(stride[0], ws[0]), min(stride[1], ws[1]), size + tail),
                dtype)
    if not disjoint:
        g.fill(0)
        part = scratch("poolpart", (size,), dtype)
    finite = gout.dtype.kind not in "fc" or bool(np.isfinite(gout).all())
    hit = scratch("poolhits", (size,), np.bool_)
    free = scratch("poolfree", (size,), np.bool_)   # no maximum found yet
    for k, (a, b, s) in enumerate(taps):            # in window order
        np.equal(src[a, b, s:s + size], out_g, out=hit)
        if k == 0:
            np.logical_not(hit, out=free)
        else:
            np.logical_and(hit, free, out=hit)
            if k < len(taps) - 1:
                np.logical_xor(free, hit, out=free)     # hit implies free: free & ~hit
        dst = g[a, b, :size] if disjoint else part
        if finite:
            np.multiply(hit, gout_g, out=dst)
        else:                              # 0 * inf is NaN: select instead of multiplying
            dst.fill(0)
            np.copyto(dst, gout_g, where=hit)
        if not disjoint:
            view = g[a, b, s:s + size]
            np.add(view, part, out=view)
    gx = (np.empty if covered else np.zeros)(x.shape, dtype)
    gx3 = gx.reshape(n * c, h, w)
    for a, b, (gr, gc), (xr, xc) in copies:
        gx3[:, xr, xc] = g[a, b, :size].reshape(n * c, hg, wg)[:, gr, gc]
    return gx


NUMPY_POOL_KERNELS = {"pool2d": pool2d, "pool2d_grad": pool2d_grad}
