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

Both work in chunks of planes (``CHUNK_BYTES`` of input at a time) so that the
passes over the taps find their operands in the cache, and the buffers are a
chunk's size, not the input's.

Measured on this 2-core machine, one thread, float32, medians of 15 interleaved
repeats against the kernels before the polyphase layout and the chunks (the lead
engineer keeps the figures in bench/RESULTS.md): gradient 8.4 -> 6.7 ms for 2x2 on
(128, 32, 30, 30), 11.2 -> 3.3 on (128, 64, 13, 13) and 6.5 -> 1.7 on
(128, 128, 5, 5) (``ignore_border=False``: cut windows), 19.3 -> 9.2 for 3x3 stride
2 on (128, 32, 28, 28); forward 2.8 -> 2.8, 2.7 -> 1.5, 1.8 -> 0.8, 4.9 -> 3.2.

The forward does not hand its argmax to the backward (the kernel contract has no
place for it). A prototype that records a ``uint8`` tap index in the forward
(``gt = tap > acc; idx = max(idx, gt * k)``, no masked stores) measured, on the
2x2 case above, forward 3.0 -> 3.6 ms and gradient 7.3 -> 3.9 ms: about 3 ms a
training step per such layer, against a forward that inference would pay too
unless the core used it only where a gradient follows.
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
    window): then strided views of the input itself cost no more than the polyphase
    layout's copies (2x2 stride 2 on (128, 32, 30, 30): forward 2.7 ms direct against
    3.7 ms in phases, gradient 9.6 against 9.3, before chunking)."""
    return (not any(pad) and stride[0] >= ws[0] and stride[1] >= ws[1]
            and all((out_hw[a] - 1) * stride[a] + ws[a] <= x_shape[2 + a] for a in range(2)))


#: the planes (images of one channel) pooled at a time: about this many bytes of the
#: input, so that the passes over each tap find their operands in the cache (2x2
#: stride 2 gradient on (128, 32, 30, 30): 9.4 ms in one go, 6.5 ms in 1 MiB chunks,
#: 6.6-6.8 in 0.5-0.25 MiB ones)
CHUNK_BYTES = 1 << 20


def _chunks(n_planes, plane_bytes):
    """``(step, [(start, stop), ...])``: the planes in chunks of at most ``step``."""
    step = max(1, min(n_planes, CHUNK_BYTES // max(1, plane_bytes)))
    return step, [(s, min(n_planes, s + step)) for s in range(0, n_planes, step)]


def _direct_taps(ws, stride, out_hw):
    """The strided slices of every tap, in window order (every tap serves every window)."""
    return [_tap_slices(i, j, stride, out_hw) for i in range(ws[0]) for j in range(ws[1])]


def _divisor(x_shape, ws, stride, pad, out_hw, mode, dtype):
    if mode in ("max", "sum"):
        return None
    rows, cols = (pool_divisors(x_shape[2 + a], ws[a], stride[a], pad[a], out_hw[a], mode)
                  for a in range(2))
    if len(set(rows)) == 1 and len(set(cols)) == 1:
        return dtype.type(rows[0] * cols[0])
    return np.multiply.outer(np.asarray(rows, dtype), np.asarray(cols, dtype))


# -- the polyphase layout ----------------------------------------------------------------

def _phase_plan(hw, ws, stride, pad, out_hw):
    """The polyphase layout of one plane's windows.

    Phase ``(a, b)`` is the grid ``src[a::s0, b::s1]`` of the padded plane, ``(hg, wg)``
    cells; a chunk of planes keeps each phase flat, its planes one after the other,
    with ``tail`` spare cells after them. Tap ``(i, j)`` of window ``(r, c)`` is cell
    ``(r + i // s0, c + j // s1)`` of phase ``(i % s0, j % s1)``, so every tap is one
    *contiguous* slice of a phase, shifted by ``(i // s0) * wg + j // s1``: the per-tap
    work runs on whole contiguous arrays instead of strided views with short rows
    (numpy's strided loops cost 5-10x more per element). Grid cells past ``out_hw``
    are windows that do not exist (they read the next row or plane; their results are
    dropped and their output gradient is zero). Returns ``(hg, wg, tail, copies,
    covered)``: ``copies`` lists ``(a, b, grid_slices, plane_slices)`` placing the plane
    in each phase; ``covered`` says whether they reach every cell of the plane."""
    hg = out_hw[0] + (ws[0] - 1) // stride[0]
    wg = out_hw[1] + (ws[1] - 1) // stride[1]
    tail = ((ws[0] - 1) // stride[0]) * wg + (ws[1] - 1) // stride[1]
    ranges = []
    for length, s, p, g, k in zip(hw, stride, pad, (hg, wg), ws):
        per = []
        for a in range(min(s, k)):                      # the phases some tap reads
            lo = max(0, -(-(p - a) // s))               # the first grid cell in the plane
            hi = min(g, (length - 1 + p - a) // s + 1)  # one past the last
            if hi > lo:
                start = a + s * lo - p
                per.append((a, slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)))
        ranges.append(per)
    copies = [(a, b, (gr, gc), (xr, xc)) for a, gr, xr in ranges[0] for b, gc, xc in ranges[1]]
    covered = all(sum(g.stop - g.start for _, g, _ in per) == length
                  for per, length in zip(ranges, hw))
    return hg, wg, tail, copies, covered


def _phase_taps(ws, stride, wg):
    """``(a, b, shift)`` of every tap, in window order."""
    return [(i % stride[0], j % stride[1], (i // stride[0]) * wg + j // stride[1])
            for i in range(ws[0]) for j in range(ws[1])]


def _phase_buffer(role, key, ws, stride, step, plane, tail, dtype, fill):
    """A reused ``(min(s0, ws0), min(s1, ws1), step * plane + tail)`` buffer whose cells
    that no copy writes (padding, cut windows' missing cells, the tail) keep ``fill``."""
    shape = (min(stride[0], ws[0]), min(stride[1], ws[1]), step * plane + tail)
    return filled((role,) + key, shape, dtype, fill)


def _to_phases(buf, x3, s, e, plan):
    hg, wg, _, copies, _ = plan
    m = e - s
    for a, b, (gr, gc), (xr, xc) in copies:
        buf[a, b, :m * hg * wg].reshape(m, hg, wg)[:, gr, gc] = x3[s:e, xr, xc]


# -- the kernels ----------------------------------------------------------------------------

def pool2d(x, ws=(2, 2), stride=None, pad=(0, 0), mode="max", ignore_border=True):
    """Pool the last two axes of the 4-d ``x`` with Theano's semantics (see the generic kernel)."""
    x = np.asarray(x)
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    if mode.startswith("average") and not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"pool2d mode {mode!r} needs a floating-point input, got {x.dtype}")
    n, c, h, w = x.shape
    out_hw, _ = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    out = np.empty((n, c) + out_hw, x.dtype)
    if out_hw[0] == 0 or out_hw[1] == 0 or n * c == 0:
        return out
    N = n * c
    x3, out3 = x.reshape(N, h, w), out.reshape((N,) + out_hw)
    combine = np.maximum if mode == "max" else np.add
    step, chunks = _chunks(N, h * w * x.dtype.itemsize)
    if _direct(x.shape, ws, stride, pad, out_hw):
        taps = _direct_taps(ws, stride, out_hw)
        for s, e in chunks:
            acc, xs = out3[s:e], x3[s:e]
            if len(taps) == 1:
                np.copyto(acc, xs[(slice(None),) + taps[0]])
            else:
                combine(xs[(slice(None),) + taps[0]], xs[(slice(None),) + taps[1]], out=acc)
            for t in taps[2:]:
                combine(acc, xs[(slice(None),) + t], out=acc)
    else:
        plan = _phase_plan((h, w), ws, stride, pad, out_hw)
        hg, wg, tail = plan[:3]
        plane = hg * wg
        src = _phase_buffer("poolsrc", (ws, stride, pad, h, w, out_hw), ws, stride, step,
                            plane, tail, x.dtype, _lowest(x.dtype) if mode == "max" else 0)
        whole = (hg, wg) == out_hw                  # no grid cell past the windows
        acc_buf = None if whole else scratch("poolacc", (step * plane,), x.dtype)
        taps = _phase_taps(ws, stride, wg)
        for s, e in chunks:
            _to_phases(src, x3, s, e, plan)
            size = (e - s) * plane
            acc = out3[s:e].reshape(size) if whole else acc_buf[:size]
            (a, b, k) = taps[0]
            if len(taps) == 1:
                np.copyto(acc, src[a, b, k:k + size])
            else:
                a2, b2, k2 = taps[1]
                combine(src[a, b, k:k + size], src[a2, b2, k2:k2 + size], out=acc)
            for a, b, k in taps[2:]:
                combine(acc, src[a, b, k:k + size], out=acc)
            if not whole:
                out3[s:e] = acc.reshape(e - s, hg, wg)[:, :out_hw[0], :out_hw[1]]
    div = _divisor(x.shape, ws, stride, pad, out_hw, mode, x.dtype)
    if div is not None:
        np.divide(out, div, out=out)
    return out


def _first_max_pass(k, last, src_tap, out_tap, hit, free):
    """``hit``: the windows whose first maximum (in window order) is tap ``k``."""
    np.equal(src_tap, out_tap, out=hit)
    if k == 0:
        np.logical_not(hit, out=free)
    else:
        np.logical_and(hit, free, out=hit)
        if not last:
            np.logical_xor(free, hit, out=free)        # hit implies free: free & ~hit


def _masked(hit, g, dst, finite):
    """``dst = g`` where ``hit``, else 0."""
    if finite:
        np.multiply(hit, g, out=dst)
    else:                                  # 0 * inf is NaN: select instead of multiplying
        dst.fill(0)
        np.copyto(dst, g, where=hit)


def _max_grad_direct(x3, out3, gout3, gx3, ws, stride, out_hw, chunks, step, finite):
    taps = _direct_taps(ws, stride, out_hw)
    hits = scratch("poolhits", (step,) + out_hw, np.bool_)
    frees = scratch("poolfree", (step,) + out_hw, np.bool_)    # no maximum found yet
    every = (slice(None),)
    for s, e in chunks:
        hit, free, xs, gs = hits[:e - s], frees[:e - s], x3[s:e], gx3[s:e]
        for k, t in enumerate(taps):                          # in window order
            _first_max_pass(k, k == len(taps) - 1, xs[every + t], out3[s:e], hit, free)
            _masked(hit, gout3[s:e], gs[every + t], finite)


def _max_grad_phases(x3, out3, gout3, gx3, ws, stride, pad, out_hw, chunks, step, finite):
    """The max gradient in the polyphase layout: NaN fills the cells outside the plane
    (it equals no maximum); the windows past ``out_hw`` get a zero output gradient."""
    N, h, w = x3.shape
    plan = _phase_plan((h, w), ws, stride, pad, out_hw)
    hg, wg, tail, copies, _ = plan
    plane = hg * wg
    key = (ws, stride, pad, h, w, out_hw)
    dtype = gx3.dtype
    src = _phase_buffer("poolgsrc", key, ws, stride, step, plane, tail, x3.dtype, np.nan)
    g = scratch("poolgphase", src.shape, dtype)
    taps = _phase_taps(ws, stride, wg)
    disjoint = all(k == 0 for _, _, k in taps)          # one tap per phase, no shift
    whole = (hg, wg) == out_hw
    if not whole:
        out_g = scratch("pooloutg", (step, hg, wg), out3.dtype)
        gout_g = filled(("poolgoutg",) + key, (step, hg, wg), gout3.dtype, 0)
    part = None if disjoint else scratch("poolpart", (step * plane,), dtype)
    hits = scratch("poolhits", (step * plane,), np.bool_)
    frees = scratch("poolfree", (step * plane,), np.bool_)
    for s, e in chunks:
        m = e - s
        size = m * plane
        _to_phases(src, x3, s, e, plan)
        if whole:
            o, go = out3[s:e].reshape(size), gout3[s:e].reshape(size)
        else:
            out_g[:m, :out_hw[0], :out_hw[1]] = out3[s:e]
            gout_g[:m, :out_hw[0], :out_hw[1]] = gout3[s:e]
            o, go = out_g[:m].reshape(size), gout_g[:m].reshape(size)
        hit, free = hits[:size], frees[:size]
        if not disjoint:
            g[:, :, :size + tail].fill(0)
        for k, (a, b, sh) in enumerate(taps):               # in window order
            _first_max_pass(k, k == len(taps) - 1, src[a, b, sh:sh + size], o, hit, free)
            if disjoint:
                _masked(hit, go, g[a, b, :size], finite)
            else:
                _masked(hit, go, part[:size], finite)
                view = g[a, b, sh:sh + size]
                np.add(view, part[:size], out=view)
        for a, b, (gr, gc), (xr, xc) in copies:
            gx3[s:e, xr, xc] = g[a, b, :size].reshape(m, hg, wg)[:, gr, gc]


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
    if out_hw[0] == 0 or out_hw[1] == 0 or n * c == 0:
        return np.zeros(x.shape, dtype)
    direct = _direct(x.shape, ws, stride, pad, out_hw)
    if mode == "max":
        if not direct and not np.issubdtype(x.dtype, np.floating):
            # integers: no value marks the cells outside the plane; the generic kernel
            # masks them
            return GENERIC_KERNELS["pool2d_grad"](x, out, gout, ws, stride, pad, mode,
                                                  ignore_border)
        N = n * c
        step, chunks = _chunks(N, h * w * x.dtype.itemsize)
        if direct:
            covered = all(out_hw[a] * ws[a] == x.shape[2 + a] and stride[a] == ws[a]
                          for a in range(2))
        else:
            covered = _phase_plan((h, w), ws, stride, pad, out_hw)[4]
        gx = (np.empty if covered else np.zeros)(x.shape, dtype)
        args = (x.reshape(N, h, w), out.reshape((N,) + out_hw), gout.reshape((N,) + out_hw),
                gx.reshape(N, h, w))
        finite = gout.dtype.kind not in "fc" or bool(np.isfinite(gout).all())
        if direct:
            _max_grad_direct(*args, ws, stride, out_hw, chunks, step, finite)
        else:
            _max_grad_phases(*args, ws, stride, pad, out_hw, chunks, step, finite)
        return gx
    covers = (not padded and stride == ws and out_hw[0] * ws[0] == h
              and out_hw[1] * ws[1] == w)   # the windows tile the input exactly
    disjoint = stride[0] >= ws[0] and stride[1] >= ws[1]
    if padded:
        gx = scratch("poolgrad", (n, c, h + 2 * pad[0], w + 2 * pad[1]), dtype)
        gx.fill(0)
    else:
        gx = np.empty(x.shape, dtype) if covers else np.zeros(x.shape, dtype)
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
