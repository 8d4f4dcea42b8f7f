"""Fast numpy kernels for 2-D convolution and pooling (NCHW images, OIHW filters).

Semantics are those of the generic kernels (``layerkit.backend.kernels.conv``
and ``.pool``); only the speed differs. What decides it (measured, see
``docs/decisions.md``):

* **Convolution** is im2col + BLAS GEMM, done in chunks (of samples or of
  output rows) whose column matrix takes about ``CHUNK_BYTES``, so that the
  GEMM reads it back from cache and the memory held stays small whatever the
  layer. The chunk's columns, the transposed output gradient and the GEMM
  output live in per-thread arenas reused across calls and shared by all
  layers; the zero-padded input lives in a buffer per shape whose border is
  written once. Returned arrays are always fresh and never alias them. Two
  layouts of the columns, picked by the depth ``K = C * kh * kw`` of the
  contraction:

  - ``K >= BATCHED_MAX_K`` (the usual case): channel-major. The input is
    copied once to ``(C, Hp, Wp, N)``, so that with stride 1 every filter tap
    is a copy of runs of ``ow * N`` contiguous elements into the columns
    ``(K, rows * ow * N)`` of a chunk of output rows; each chunk is one GEMM
    over the whole batch, col2im adds runs of the same length, and the output
    (gradient) goes between NCHW and ``(O, rows * ow * N)`` by one
    transposing copy per chunk.
  - small ``K`` (a first layer on 1 or 3 channels): columns ``(n, K, oh * ow)``
    for a chunk of samples and a batched ``matmul`` that writes NCHW directly:
    with a contraction this shallow, transposing the large output would cost
    more than the GEMM itself.

  (Measured alternatives that lost: one ``(K, N * L)`` GEMM with NCHW-ordered
  tap copies — rows of only ``ow`` elements, and col2im slower than the GEMM
  on small images; "wide" columns over the padded width, whose tap copies are
  single contiguous runs but whose GEMM and output crop cost more; the whole
  batch's columns at once, up to 230 MB for a 64-channel 30x30 layer and
  streamed from memory at half the GEMM rate.)
* **Max-pooling** is an elementwise ``np.maximum`` over the ``ws[0] * ws[1]``
  strided views of the input (no reshape, no copy of the input); its gradient
  is ``(view == out) * gout`` per view, assigned directly when windows do not
  overlap.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from layerkit.backend.kernels.conv import ConvGeometry
from layerkit.backend.kernels.pool import check_pool_params, pool_divisors, pool_geometry

__all__ = ["NUMPY_CONV_KERNELS", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "pool2d", "pool2d_grad", "clear_buffers", "BATCHED_MAX_K", "CHUNK_BYTES",
           "MAX_BUFFERS"]

#: at most this many padded buffers are kept per thread (least recently used go first)
MAX_BUFFERS = 32
#: the column matrix is built and multiplied in chunks (of samples or of output rows)
#: of about this many bytes, so that it is read back from cache, not memory
CHUNK_BYTES = 2 << 20
#: contractions shallower than this use the batched ``(N, K, L)`` layout (measured on
#: 2 cores: K = 75 is faster batched, K = 144 and up channel-major)
BATCHED_MAX_K = 128


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.arenas: dict = {}                  # (role, dtype) -> flat array, grown as needed
        self.filled: OrderedDict = OrderedDict()  # buffers whose untouched cells hold a fill


_SCRATCH = _Scratch()


def clear_buffers() -> None:
    """Drop this thread's scratch buffers (they are rebuilt on the next call)."""
    _SCRATCH.arenas.clear()
    _SCRATCH.filled.clear()


def _scratch(role, shape, dtype) -> np.ndarray:
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


def _filled(key, shape, dtype, fill) -> np.ndarray:
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


# --------------------------------------------------------------------------- convolution

class _Plan(ConvGeometry):
    """The geometry shared by the three convolution kernels, and the numpy plan."""

    __slots__ = ("hp", "wp", "batched")

    def __init__(self, x_shape, w_shape, stride, padding, dilation) -> None:
        super().__init__(x_shape, w_shape, stride, padding, dilation)
        self.hp, self.wp = self.h + 2 * self.pad[0], self.w + 2 * self.pad[1]
        self.batched = self.k < BATCHED_MAX_K

    def taps(self, r0=0, r1=None):
        """``(i, j, row slice, column slice)``: the padded-input cells tap ``(i, j)`` reads
        for the output rows ``r0:r1`` (all rows by default)."""
        r1 = self.oh if r1 is None else r1
        sh, sw = self.stride
        for i in range(self.kh):
            for j in range(self.kw):
                a, c0 = r0 * sh + i * self.dil[0], j * self.dil[1]
                yield i, j, (slice(a, a + (r1 - r0 - 1) * sh + 1, sh),
                             slice(c0, c0 + (self.ow - 1) * sw + 1, sw))

    def chunks(self, itemsize):
        """Ranges of samples (batched layout) or of output rows (channel-major layout)
        whose column matrix takes about ``CHUNK_BYTES``."""
        if self.batched:
            total, per = self.n, self.k * self.length * itemsize
        else:
            total, per = self.oh, self.k * self.ow * self.n * itemsize
        step = max(1, CHUNK_BYTES // max(per, 1))
        return [(a, min(total, a + step)) for a in range(0, total, step)]


def _same_dtype(*arrays):
    """The arrays in their common dtype (the core already casts; this keeps BLAS on one type)."""
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    return [a.astype(dtype, copy=False) for a in arrays], dtype


def _input_nchw(x, p: _Plan):
    """``x`` zero-padded, NCHW (a reused buffer whose border stays zero), or ``x`` itself."""
    ph, pw = p.pad
    if ph == 0 and pw == 0:
        return x
    buf = _filled(("xpad", ph, pw), (p.n, p.c, p.hp, p.wp), x.dtype, 0)
    buf[:, :, ph:ph + p.h, pw:pw + p.w] = x
    return buf


def _input_chwn(x, p: _Plan):
    """``x`` zero-padded and channel-major, ``(C, Hp, Wp, N)``, in a reused buffer."""
    ph, pw = p.pad
    if ph == 0 and pw == 0:
        buf = _scratch("xT", (p.c, p.h, p.w, p.n), x.dtype)
        np.copyto(buf, x.transpose(1, 2, 3, 0))
        return buf
    buf = _filled(("xpadT", ph, pw), (p.c, p.hp, p.wp, p.n), x.dtype, 0)
    np.copyto(buf[:, ph:ph + p.h, pw:pw + p.w, :], x.transpose(1, 2, 3, 0))
    return buf


def _cols_batched(src, p: _Plan, n0, n1):
    """Columns ``(n1 - n0, K, L)`` of the samples ``n0:n1`` of the padded NCHW input."""
    cols = _scratch("cols", (n1 - n0, p.k, p.length), src.dtype)
    taps = cols.reshape(n1 - n0, p.c, p.kh, p.kw, p.oh, p.ow)
    for i, j, (rs, cs) in p.taps():
        np.copyto(taps[:, :, i, j], src[n0:n1, :, rs, cs])
    return cols


def _cols_chwn(src, p: _Plan, r0, r1):
    """Columns ``(K, (r1 - r0) * ow * N)`` of the output rows ``r0:r1``, K ordered (c, i, j);
    from the ``(C, Hp, Wp, N)`` input each tap copies runs of ``ow * N`` elements."""
    cols = _scratch("cols", (p.k, (r1 - r0) * p.ow * p.n), src.dtype)
    taps = cols.reshape(p.c, p.kh, p.kw, r1 - r0, p.ow, p.n)
    for i, j, (rs, cs) in p.taps(r0, r1):
        np.copyto(taps[:, i, j], src[:, rs, cs, :])
    return cols


def _gy_chwn(gy, p: _Plan, r0, r1):
    """The output gradient's rows ``r0:r1`` as an ``(O, (r1 - r0) * ow * N)`` matrix."""
    buf = _scratch("out", (p.o, r1 - r0, p.ow, p.n), gy.dtype)
    np.copyto(buf, gy[:, :, r0:r1, :].transpose(1, 2, 3, 0))
    return buf.reshape(p.o, -1)


def _check_gy(gy, p: _Plan, name):
    if gy.shape != (p.n, p.o, p.oh, p.ow):
        raise ValueError(f"{name}: the output gradient has shape {gy.shape}, expected "
                         f"{(p.n, p.o, p.oh, p.ow)} for input shape {(p.n, p.c, p.h, p.w)} and "
                         f"filter shape {(p.o, p.c, p.kh, p.kw)}")


def _filters(w, p: _Plan):
    return np.ascontiguousarray(w).reshape(p.o, p.k)


def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Cross-correlate NCHW ``x`` with OIHW ``w`` (no flip); returns ``(N, O, rows, cols)``."""
    (x, w), dtype = _same_dtype(x, w)
    p = _Plan(x.shape, w.shape, stride, padding, dilation)
    w2 = _filters(w, p)
    y = np.empty((p.n, p.o, p.oh, p.ow), dtype)
    if p.batched:                       # (O, K) @ (n, K, L) straight into NCHW
        src = _input_nchw(x, p)
        for n0, n1 in p.chunks(dtype.itemsize):
            np.matmul(w2, _cols_batched(src, p, n0, n1),
                      out=y[n0:n1].reshape(n1 - n0, p.o, p.length))
        return y
    src = _input_chwn(x, p)
    for r0, r1 in p.chunks(dtype.itemsize):
        cols = _cols_chwn(src, p, r0, r1)
        out = _scratch("out", (p.o, cols.shape[1]), dtype)
        np.dot(w2, cols, out=out)
        np.copyto(y[:, :, r0:r1, :], out.reshape(p.o, r1 - r0, p.ow, p.n).transpose(3, 0, 1, 2))
    return y


def conv2d_grad_weight(x, gy, filter_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its filters: GEMMs against the columns."""
    (x, gy), dtype = _same_dtype(x, gy)
    p = _Plan(x.shape, tuple(int(s) for s in filter_shape), stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_weight")
    if p.batched:                       # (n, O, L) @ (n, L, K), summed over the samples
        src = _input_nchw(x, p)
        g = np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
        gw = np.zeros((p.o, p.k), dtype)
        for n0, n1 in p.chunks(dtype.itemsize):
            cols = _cols_batched(src, p, n0, n1)
            gw += np.matmul(g[n0:n1], cols.transpose(0, 2, 1)).sum(axis=0)
        return gw.reshape(p.o, p.c, p.kh, p.kw)
    src = _input_chwn(x, p)
    gwt = np.zeros((p.k, p.o), dtype)
    for r0, r1 in p.chunks(dtype.itemsize):
        # (K, m) @ (m, O): the orientation g @ cols.T is as fast on one thread but up to
        # 30x slower on two (OpenBLAS 0.3.31) when the contraction m is long
        gwt += np.dot(_cols_chwn(src, p, r0, r1), _gy_chwn(gy, p, r0, r1).T)
    return np.ascontiguousarray(gwt.T).reshape(p.o, p.c, p.kh, p.kw)


def conv2d_grad_input(gy, w, input_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its input: GEMMs, then col2im by adding
    slices. Input cells that no output reads get 0."""
    (gy, w), dtype = _same_dtype(gy, w)
    p = _Plan(tuple(int(s) for s in input_shape), w.shape, stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_input")
    w2t = _filters(w, p).T
    ph, pw = p.pad
    if p.batched:
        g = np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
        if ph or pw:
            gx = _scratch("gx", (p.n, p.c, p.hp, p.wp), dtype)
            gx.fill(0)
        else:
            gx = np.zeros((p.n, p.c, p.h, p.w), dtype)
        for n0, n1 in p.chunks(dtype.itemsize):
            dcols = _scratch("cols", (n1 - n0, p.k, p.length), dtype)
            np.matmul(w2t, g[n0:n1], out=dcols)
            taps = dcols.reshape(n1 - n0, p.c, p.kh, p.kw, p.oh, p.ow)
            for i, j, (rs, cs) in p.taps():
                gx[n0:n1, :, rs, cs] += taps[:, :, i, j]
        if ph or pw:
            return gx[:, :, ph:ph + p.h, pw:pw + p.w].copy()
        return gx
    gxt = _scratch("gx", (p.c, p.hp, p.wp, p.n), dtype)              # (C, Hp, Wp, N)
    gxt.fill(0)
    for r0, r1 in p.chunks(dtype.itemsize):
        g = _gy_chwn(gy, p, r0, r1)
        dcols = _scratch("cols", (p.k, g.shape[1]), dtype)
        np.dot(w2t, g, out=dcols)
        taps = dcols.reshape(p.c, p.kh, p.kw, r1 - r0, p.ow, p.n)
        for i, j, (rs, cs) in p.taps(r0, r1):
            gxt[:, rs, cs, :] += taps[:, i, j]
    return gxt[:, ph:ph + p.h, pw:pw + p.w, :].transpose(3, 0, 1, 2).copy()


# --------------------------------------------------------------------------- pooling

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
    buf = _filled(("poolpad", pad, h, w), (n, c, h + 2 * pad[0], w + 2 * pad[1]), x.dtype, fill)
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


def pool2d_grad(x, out, gout, ws=(2, 2), stride=None, pad=(0, 0), mode="max",
                ignore_border=True):
    """The gradient of ``pool2d``: max to every cell equal to its window's max (ties
    included), sums and averages spread over the window as the forward divided."""
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
    covers = (not padded and stride == ws and out_hw[0] * ws[0] == h
              and out_hw[1] * ws[1] == w)   # the windows tile the input exactly
    disjoint = stride[0] >= ws[0] and stride[1] >= ws[1]
    if padded:
        gx = _scratch("poolgrad", (n, c, h + 2 * pad[0], w + 2 * pad[1]), dtype)
        gx.fill(0)
    else:
        gx = np.empty(x.shape, dtype) if covers else np.zeros(x.shape, dtype)
    if mode == "max":
        src = _pool_source(x, pad, mode)
        # the equality as 0/1 in the gradient's dtype (faster than a boolean mask times gout)
        hits = _scratch("poolhits", (n, c) + out_hw, dtype)
        for i, j, (rs, cs), (ni, nj) in _pool_taps(src.shape[2:], ws, stride, out_hw):
            hit = hits[:, :, :ni, :nj]
            np.equal(src[:, :, rs, cs], out[:, :, :ni, :nj], out=hit)
            if disjoint:
                np.multiply(hit, gout[:, :, :ni, :nj], out=gx[:, :, rs, cs])
            else:
                np.multiply(hit, gout[:, :, :ni, :nj], out=hit)
                gx[:, :, rs, cs] += hit
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


NUMPY_CONV_KERNELS = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_weight": conv2d_grad_weight,
    "pool2d": pool2d,
    "pool2d_grad": pool2d_grad,
}
