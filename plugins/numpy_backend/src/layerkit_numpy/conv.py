"""Fast numpy kernels for 2-D convolution and pooling (NCHW images, OIHW filters).

Semantics are those of the generic kernels (``layerkit.backend.kernels.conv``
and ``.pool``); only the speed differs. What decides it (measured, see
``docs/decisions.md``):

* **Convolution** is im2col + BLAS GEMM, with the column matrix, the padded
  input, the transposed output gradient and the GEMM output held in buffers
  reused across calls (keyed by shape, dtype and placement), so a training
  loop allocates nothing but its results; returned arrays are always fresh
  and never alias those buffers. Two layouts of the columns, picked by the
  depth ``K = C * kh * kw`` of the contraction:

  - ``K >= BATCHED_MAX_K`` (the usual case): columns ``(K, N * L)`` and one
    GEMM over the whole batch per kernel; the output and the output gradient
    are transposed between NCHW and ``(O, N * L)`` by one copy each.
  - small ``K`` (a first layer on 1 or 3 channels): columns ``(N, K, L)`` and
    a batched ``matmul`` that writes NCHW directly: with a contraction this
    shallow the transposing copies would cost more than the GEMM itself.

  The column matrix is filled by ``kh * kw`` copies (one per filter tap) of
  strided views of the padded input into the reused buffer; the gradient with
  respect to the input is a GEMM followed by col2im as ``kh * kw`` slice
  additions.
* **Max-pooling** is an elementwise ``np.maximum`` over the ``ws[0] * ws[1]``
  strided views of the input (no reshape, no copy of the input); its gradient
  is ``(view == out) * gout`` per view, assigned directly when windows do not
  overlap.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from layerkit.backend.kernels.conv import conv_out_len
from layerkit.backend.kernels.pool import check_pool_params, pool_divisors, pool_geometry

__all__ = ["NUMPY_CONV_KERNELS", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "pool2d", "pool2d_grad", "clear_buffers", "BATCHED_MAX_K", "MAX_BUFFERS"]

#: at most this many scratch buffers are kept per thread (least recently used go first)
MAX_BUFFERS = 32
#: contractions shallower than this use the batched ``(N, K, L)`` layout
BATCHED_MAX_K = 48


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.buffers: OrderedDict = OrderedDict()


_SCRATCH = _Scratch()


def clear_buffers() -> None:
    """Drop this thread's scratch buffers (they are rebuilt on the next call)."""
    _SCRATCH.buffers.clear()


def _scratch(key, shape, dtype, fill=None) -> np.ndarray:
    """A reused buffer. With ``fill``, cells the callers never write keep that value:

    ``key`` must then pin down which cells the callers write (it includes the
    placement of the interior), so that one buffer always has the same border.
    """
    dtype = np.dtype(dtype)
    full_key = (key, tuple(shape), dtype.str, fill)
    bufs = _SCRATCH.buffers
    buf = bufs.get(full_key)
    if buf is None:
        buf = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
        bufs[full_key] = buf
        while len(bufs) > MAX_BUFFERS:
            bufs.popitem(last=False)
    else:
        bufs.move_to_end(full_key)
    return buf


# --------------------------------------------------------------------------- convolution

class _Plan:
    """The geometry shared by the three convolution kernels."""

    __slots__ = ("n", "c", "h", "w", "o", "kh", "kw", "stride", "pad", "dil", "oh", "ow",
                 "hp", "wp", "length", "k", "batched")

    def __init__(self, x_shape, w_shape, stride, padding, dilation) -> None:
        self.n, self.c, self.h, self.w = (int(s) for s in x_shape)
        self.o, cw, self.kh, self.kw = (int(s) for s in w_shape)
        if cw != self.c:
            raise ValueError(f"conv2d: the input has {self.c} channels but the filters expect "
                             f"{cw} (input shape {tuple(x_shape)}, filter shape {tuple(w_shape)})")
        self.stride = tuple(int(s) for s in stride)
        self.pad = tuple(int(p) for p in padding)
        self.dil = tuple(int(d) for d in dilation)
        self.oh = conv_out_len(self.h, self.kh, self.stride[0], self.pad[0], self.dil[0])
        self.ow = conv_out_len(self.w, self.kw, self.stride[1], self.pad[1], self.dil[1])
        if self.oh < 1 or self.ow < 1:
            raise ValueError(f"conv2d: filters of size {(self.kh, self.kw)} with dilation "
                             f"{self.dil} do not fit an input of size {(self.h, self.w)} with "
                             f"padding {self.pad} (output size {(self.oh, self.ow)})")
        self.hp, self.wp = self.h + 2 * self.pad[0], self.w + 2 * self.pad[1]
        self.length = self.oh * self.ow                  # columns per image
        self.k = self.c * self.kh * self.kw
        self.batched = self.k < BATCHED_MAX_K

    def taps(self):
        """``(i, j, row slice, column slice)``: the padded-input cells tap ``(i, j)`` reads."""
        sh, sw = self.stride
        for i in range(self.kh):
            for j in range(self.kw):
                r0, c0 = i * self.dil[0], j * self.dil[1]
                yield i, j, (slice(r0, r0 + (self.oh - 1) * sh + 1, sh),
                             slice(c0, c0 + (self.ow - 1) * sw + 1, sw))

    def cols_shape(self):
        return (self.n, self.k, self.length) if self.batched else (self.k, self.n * self.length)

    def tap_view(self, cols):
        """``cols`` as ``(C, kh, kw, N, oh, ow)`` whatever the layout (a view)."""
        if self.batched:
            return cols.reshape(self.n, self.c, self.kh, self.kw, self.oh, self.ow) \
                .transpose(1, 2, 3, 0, 4, 5)
        return cols.reshape(self.c, self.kh, self.kw, self.n, self.oh, self.ow)


def _same_dtype(*arrays):
    arrays = [np.asarray(a) for a in arrays]
    dtype = np.result_type(*arrays)
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)):
        dtype = np.dtype(np.float64)
    return [a.astype(dtype, copy=False) for a in arrays], dtype


def _padded_input(x, p: _Plan):
    """``x`` zero-padded (a reused buffer whose border stays zero), or ``x`` itself."""
    ph, pw = p.pad
    if ph == 0 and pw == 0:
        return x
    buf = _scratch(("xpad", ph, pw), (p.n, p.c, p.hp, p.wp), x.dtype, fill=0)
    buf[:, :, ph:ph + p.h, pw:pw + p.w] = x
    return buf


def _im2col(x, p: _Plan):
    """The column matrix of ``x`` in the plan's layout (a reused buffer), K ordered (c, i, j)."""
    cols = _scratch("cols", p.cols_shape(), x.dtype)
    taps = p.tap_view(cols)
    src = _padded_input(x, p).transpose(1, 0, 2, 3)                  # (C, N, Hp, Wp)
    for i, j, (rs, cs) in p.taps():
        np.copyto(taps[:, i, j], src[:, :, rs, cs])
    return cols


def _gy_columns(gy, p: _Plan):
    """The output gradient laid out as the GEMM output: ``(N, O, L)`` or ``(O, N * L)``."""
    if p.batched:
        return np.ascontiguousarray(gy).reshape(p.n, p.o, p.length)
    buf = _scratch("gyT", (p.o, p.n, p.oh, p.ow), gy.dtype)
    np.copyto(buf, gy.transpose(1, 0, 2, 3))
    return buf.reshape(p.o, p.n * p.length)


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
    cols = _im2col(x, p)
    w2 = _filters(w, p)
    if p.batched:                       # (O, K) @ (N, K, L): a fresh (N, O, L)
        return np.matmul(w2, cols).reshape(p.n, p.o, p.oh, p.ow)
    y = _scratch("y", (p.o, p.n * p.length), dtype)
    np.dot(w2, cols, out=y)
    # always a fresh array (with N == 1 the transposed view may already count as contiguous)
    return y.reshape(p.o, p.n, p.oh, p.ow).transpose(1, 0, 2, 3).copy()


def conv2d_grad_weight(x, gy, filter_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its filters: a GEMM against the columns."""
    (x, gy), dtype = _same_dtype(x, gy)
    p = _Plan(x.shape, tuple(int(s) for s in filter_shape), stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_weight")
    g = _gy_columns(gy, p)
    cols = _im2col(x, p)
    if p.batched:                       # (N, O, L) @ (N, L, K), summed over the batch
        gw = np.matmul(g, cols.transpose(0, 2, 1)).sum(axis=0)
    else:
        gw = np.dot(g, cols.T)
    return gw.reshape(p.o, p.c, p.kh, p.kw)


def conv2d_grad_input(gy, w, input_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its input: a GEMM, then col2im by adding
    slices. Input cells that no output reads get 0."""
    (gy, w), dtype = _same_dtype(gy, w)
    p = _Plan(tuple(int(s) for s in input_shape), w.shape, stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_input")
    g = _gy_columns(gy, p)
    w2 = _filters(w, p)
    dcols = _scratch("cols", p.cols_shape(), dtype)
    if p.batched:
        np.matmul(w2.T, g, out=dcols)
    else:
        np.dot(w2.T, g, out=dcols)
    taps = p.tap_view(dcols)
    ph, pw = p.pad
    padded = ph > 0 or pw > 0
    if padded:
        gx = _scratch("gxpad", (p.n, p.c, p.hp, p.wp), dtype)
        gx.fill(0)
    else:
        gx = np.zeros((p.n, p.c, p.h, p.w), dtype)
    gxt = gx.transpose(1, 0, 2, 3)                                     # (C, N, Hp, Wp)
    for i, j, (rs, cs) in p.taps():
        gxt[:, :, rs, cs] += taps[:, i, j]
    if padded:
        return gx[:, :, ph:ph + p.h, pw:pw + p.w].copy()
    return gx


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
    buf = _scratch(("poolpad", pad, h, w), (n, c, h + 2 * pad[0], w + 2 * pad[1]), x.dtype,
                   fill=fill)
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
    acc = None
    combine = np.maximum if mode == "max" else np.add
    for i, j, (rs, cs), (ni, nj) in _pool_taps(src.shape[2:], ws, stride, out_hw):
        view = src[:, :, rs, cs]
        if acc is None:                       # tap (0, 0): every window
            acc = np.array(view, copy=True)
        else:
            part = acc[:, :, :ni, :nj]
            combine(part, view, out=part)
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
        gx = _scratch(("poolgrad", pad), (n, c, h + 2 * pad[0], w + 2 * pad[1]), dtype)
        gx.fill(0)
    else:
        gx = np.empty(x.shape, dtype) if covers else np.zeros(x.shape, dtype)
    if mode == "max":
        src = _pool_source(x, pad, mode)
        mask = _scratch("poolmask", (n, c) + out_hw, np.bool_)
        for i, j, (rs, cs), (ni, nj) in _pool_taps(src.shape[2:], ws, stride, out_hw):
            m = mask[:, :, :ni, :nj]
            np.equal(src[:, :, rs, cs], out[:, :, :ni, :nj], out=m)
            if disjoint:
                np.multiply(m, gout[:, :, :ni, :nj], out=gx[:, :, rs, cs])
            else:
                gx[:, :, rs, cs] += m * gout[:, :, :ni, :nj]
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
