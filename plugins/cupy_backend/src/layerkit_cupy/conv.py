"""Convolution and pooling on the GPU (NCHW images, OIHW filters).

Semantics are the generic kernels' (``layerkit.backend.kernels.conv`` and
``.pool``, DESIGN 4a, decisions 41-42); the shared geometry helpers come from
there, so output sizes, validation and error messages are the same.

* ``conv2d``: an im2col kernel writes the columns ``(n, K, L)`` (``K = C*kh*kw``
  ordered (c, i, j); ``L = oh*ow``) of a chunk of samples, zero where a tap
  reads padding; one batched cuBLAS GEMM ``(O, K) @ (n, K, L)`` writes NCHW.
* ``conv2d_grad_weight``: the same columns, ``(n, O, L) @ (n, L, K)`` by
  cuBLAS, summed over the samples.
* ``conv2d_grad_input``: ``(K, O) @ (n, O, L)`` by cuBLAS gives the column
  gradient; a col2im kernel then *gathers*: one thread per input cell sums the
  column entries of the taps that read it (no atomics, so the result is
  deterministic; cells no tap reads get 0).
* ``pool2d``: one thread per output cell walks its window's real cells (padding
  never wins a max; averages divide as decision 41 says).
* ``pool2d_grad``: one thread per input cell gathers from the windows that
  contain it, in the order the generic kernel adds them, so sums and averages
  agree with it bit for bit; max sends ``gout`` where ``x == out`` (ties included).

All the index arithmetic is in the CUDA source below (``*_source``
functions, pure text). The tests compile that same text with a host C++
compiler, run its blocks and threads in sequence on numpy arrays, and compare
with the generic kernels; on a GPU cupy compiles it with NVRTC.
"""
from __future__ import annotations

import functools

import math
from typing import Any

import numpy as np

from layerkit.backend.kernels import conv as generic_conv
from layerkit.backend.kernels import pool as generic_pool
from layerkit.backend.kernels.conv import ConvGeometry
from layerkit.backend.kernels.pool import check_pool_params, pool_geometry

from ._cuda import cupy, ctype, index_type, launch, raw_kernel, suffix

__all__ = ["CUPY_CONV_KERNELS", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "pool2d", "pool2d_grad", "im2col_source", "col2im_source", "pool_fwd_source",
           "pool_bwd_source", "ConvPlan", "POOL_MODE_CODES", "CHUNK_BYTES", "FLOAT_DTYPES",
           "POOL_DTYPES"]

#: the column matrix of one chunk of samples takes at most about this many bytes
#: (a chunk is at least one sample)
CHUNK_BYTES = 256 << 20
#: dtypes the convolution kernels run natively (others use the generic kernels)
FLOAT_DTYPES = ("float32", "float64")
#: dtypes the pooling kernels run natively
POOL_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
               "uint32", "uint64")
POOL_MODE_CODES = {"max": 0, "sum": 1, "average_inc_pad": 2, "average_exc_pad": 3}

_LOOP = ("for ({I} idx = ({I})blockIdx.x * blockDim.x + threadIdx.x; idx < total;\n"
         "         idx += ({I})blockDim.x * gridDim.x) {{")


# --------------------------------------------------------------------------- CUDA source

@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def im2col_source(dtype: str, itype: str) -> tuple[str, str]:
    """``(name, source)`` of the im2col kernel: ``cols[n, (c*kh + i)*kw + j, r*ow + q]
    = x[n, c, r*sh + i*dh - ph, q*sw + j*dw - pw]``, 0 outside the input."""
    T, I = ctype(dtype), itype
    name = f"lk_im2col_{suffix(dtype)}_{'i32' if I == 'int' else 'i64'}"
    src = f"""extern "C" __global__ void {name}(const {T}* __restrict__ x, {T}* __restrict__ cols,
    {I} total, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
    int dh, int dw, int oh, int ow)
{{
    {_LOOP.format(I=I)}
        {I} t = idx;
        const int q = (int)(t % ow); t /= ow;
        const int r = (int)(t % oh); t /= oh;
        const int j = (int)(t % kw); t /= kw;
        const int i = (int)(t % kh); t /= kh;
        const int c = (int)(t % C);
        const {I} n = t / C;
        const int y = r * sh + i * dh - ph;
        const int xc = q * sw + j * dw - pw;
        {T} v = ({T})0;
        if (y >= 0 && y < H && xc >= 0 && xc < W) {{
            v = x[((n * C + c) * H + y) * W + xc];
        }}
        cols[idx] = v;
    }}
}}
"""
    return name, src


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def col2im_source(dtype: str, itype: str) -> tuple[str, str]:
    """``(name, source)`` of the col2im gather: input cell ``(n, c, y, x)`` sums
    ``dcols[n, (c*kh + i)*kw + j, r*ow + q]`` over the taps with
    ``r*sh + i*dh == y + ph`` and ``q*sw + j*dw == x + pw``, in tap order."""
    T, I = ctype(dtype), itype
    name = f"lk_col2im_{suffix(dtype)}_{'i32' if I == 'int' else 'i64'}"
    src = f"""extern "C" __global__ void {name}(const {T}* __restrict__ dcols, {T}* __restrict__ gx,
    {I} total, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw,
    int dh, int dw, int oh, int ow)
{{
    const {I} L = ({I})oh * ow;
    {_LOOP.format(I=I)}
        {I} t = idx;
        const int xc = (int)(t % W); t /= W;
        const int y = (int)(t % H); t /= H;
        const int c = (int)(t % C);
        const {I} n = t / C;
        const int qy = y + ph;
        const int qx = xc + pw;
        {T} acc = ({T})0;
        for (int i = 0; i < kh; ++i) {{
            const int ry = qy - i * dh;
            if (ry < 0 || ry % sh != 0) continue;
            const int r = ry / sh;
            if (r >= oh) continue;
            for (int j = 0; j < kw; ++j) {{
                const int rx = qx - j * dw;
                if (rx < 0 || rx % sw != 0) continue;
                const int q = rx / sw;
                if (q >= ow) continue;
                acc += dcols[((n * C + c) * kh * kw + i * kw + j) * L + ({I})r * ow + q];
            }}
        }}
        gx[idx] = acc;
    }}
}}
"""
    return name, src


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def pool_fwd_source(dtype: str, itype: str) -> tuple[str, str]:
    """``(name, source)`` of the pooling kernel, one thread per output cell.

    Window ``(a, b)`` covers the padded-input rows ``[a*sh, a*sh + wh)`` (and
    columns likewise); the real cells are those inside ``[ph, ph + H)``. Every
    window of a non-empty output holds at least one real cell, so max starts from
    the first one. ``mode``: 0 max, 1 sum, 2 average_inc_pad, 3 average_exc_pad.
    """
    T, I = ctype(dtype), itype
    name = f"lk_pool_fwd_{suffix(dtype)}_{'i32' if I == 'int' else 'i64'}"
    src = f"""extern "C" __global__ void {name}(const {T}* __restrict__ x, {T}* __restrict__ y,
    {I} total, int H, int W, int oh, int ow, int wh, int ww, int sh, int sw, int ph, int pw,
    int mode)
{{
    {_LOOP.format(I=I)}
        {I} t = idx;
        const int b = (int)(t % ow); t /= ow;
        const int a = (int)(t % oh);
        const {I} plane = t / oh;
        const int y0 = a * sh, x0 = b * sw;
        const int ylo = y0 > ph ? y0 : ph;
        const int yhi = (y0 + wh < ph + H) ? y0 + wh : ph + H;
        const int xlo = x0 > pw ? x0 : pw;
        const int xhi = (x0 + ww < pw + W) ? x0 + ww : pw + W;
        const {T}* p = x + plane * H * W;
        {T} acc = ({T})0;
        if (ylo < yhi && xlo < xhi) {{
            if (mode == 0) {{
                acc = p[(ylo - ph) * W + (xlo - pw)];
                for (int yy = ylo; yy < yhi; ++yy) {{
                    for (int xx = xlo; xx < xhi; ++xx) {{
                        const {T} v = p[(yy - ph) * W + (xx - pw)];
                        if (v > acc || v != v) acc = v;   /* NaN wins, as np.maximum */
                    }}
                }}
            }} else {{
                for (int yy = ylo; yy < yhi; ++yy) {{
                    for (int xx = xlo; xx < xhi; ++xx) {{
                        acc += p[(yy - ph) * W + (xx - pw)];
                    }}
                }}
                if (mode == 2) {{
                    const int ey = (y0 + wh < H + 2 * ph) ? y0 + wh : H + 2 * ph;
                    const int ex = (x0 + ww < W + 2 * pw) ? x0 + ww : W + 2 * pw;
                    acc = acc / ({T})((ey - y0) * (ex - x0));
                }} else if (mode == 3) {{
                    acc = acc / ({T})((yhi - ylo) * (xhi - xlo));
                }}
            }}
        }}
        y[idx] = acc;
    }}
}}
"""
    return name, src


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def pool_bwd_source(dtype: str, itype: str) -> tuple[str, str]:
    """``(name, source)`` of the pooling gradient, one thread per input cell.

    The windows containing padded cell ``qy`` are ``a`` in
    ``[max(0, floor((qy - wh)/sh) + 1), min(oh - 1, floor(qy/sh))]``; they are
    visited from the last to the first (rows, then columns), which is the order in
    which the generic kernel's tap loop adds them.
    """
    T, I = ctype(dtype), itype
    name = f"lk_pool_bwd_{suffix(dtype)}_{'i32' if I == 'int' else 'i64'}"
    src = f"""extern "C" __global__ void {name}(const {T}* __restrict__ x,
    const {T}* __restrict__ out, const {T}* __restrict__ gout, {T}* __restrict__ gx,
    {I} total, int H, int W, int oh, int ow, int wh, int ww, int sh, int sw, int ph, int pw,
    int mode)
{{
    {_LOOP.format(I=I)}
        {I} t = idx;
        const int xc = (int)(t % W); t /= W;
        const int y = (int)(t % H);
        const {I} plane = t / H;
        const int qy = y + ph, qx = xc + pw;
        const int ahi = (qy / sh < oh - 1) ? qy / sh : oh - 1;
        const int alo = qy >= wh ? (qy - wh) / sh + 1 : 0;
        const int bhi = (qx / sw < ow - 1) ? qx / sw : ow - 1;
        const int blo = qx >= ww ? (qx - ww) / sw + 1 : 0;
        const {T} xv = x[idx];
        const {I} base = plane * oh * ow;
        {T} acc = ({T})0;
        for (int a = ahi; a >= alo; --a) {{
            for (int b = bhi; b >= blo; --b) {{
                const {I} o = base + ({I})a * ow + b;
                if (mode == 0) {{
                    if (xv == out[o]) acc += gout[o];
                }} else if (mode == 1) {{
                    acc += gout[o];
                }} else {{
                    const int y0 = a * sh, x0 = b * sw;
                    int d;
                    if (mode == 2) {{
                        const int ey = (y0 + wh < H + 2 * ph) ? y0 + wh : H + 2 * ph;
                        const int ex = (x0 + ww < W + 2 * pw) ? x0 + ww : W + 2 * pw;
                        d = (ey - y0) * (ex - x0);
                    }} else {{
                        const int ylo = y0 > ph ? y0 : ph;
                        const int yhi = (y0 + wh < ph + H) ? y0 + wh : ph + H;
                        const int xlo = x0 > pw ? x0 : pw;
                        const int xhi = (x0 + ww < pw + W) ? x0 + ww : pw + W;
                        d = (yhi - ylo) * (xhi - xlo);
                    }}
                    acc += gout[o] / ({T})d;
                }}
            }}
        }}
        gx[idx] = acc;
    }}
}}
"""
    return name, src


# --------------------------------------------------------------------------- geometry

class ConvPlan(ConvGeometry):
    """The geometry of one convolution (validated as the generic kernels validate)."""

    __slots__ = ()

    def geometry_args(self) -> tuple:
        """The ``int`` arguments after ``total`` shared by im2col and col2im."""
        i32 = np.int32
        return (i32(self.c), i32(self.h), i32(self.w), i32(self.kh), i32(self.kw),
                i32(self.stride[0]), i32(self.stride[1]), i32(self.pad[0]), i32(self.pad[1]),
                i32(self.dil[0]), i32(self.dil[1]), i32(self.oh), i32(self.ow))

    def chunks(self, itemsize: int, chunk_bytes: int | None = None) -> list[tuple[int, int]]:
        """Sample ranges whose columns take about ``chunk_bytes`` (at least one sample)."""
        per = max(1, self.k * self.length * itemsize)
        step = max(1, (CHUNK_BYTES if chunk_bytes is None else chunk_bytes) // per)
        return [(a, min(self.n, a + step)) for a in range(0, self.n, step)]

    def itype(self, n_chunk: int) -> str:
        """The index type for a chunk of ``n_chunk`` samples (covers x, columns and gx)."""
        return index_type(n_chunk * self.k * self.length, n_chunk * self.c * self.h * self.w)


def _itotal(total: int, itype: str) -> Any:
    return np.int32(total) if itype == "int" else np.int64(total)


def _common(xp, *arrays):
    """The arrays C-contiguous in one dtype (the core already casts; this is a guard)."""
    dtype = np.result_type(*[np.dtype(a.dtype.name) for a in arrays])
    return [xp.ascontiguousarray(a.astype(dtype, copy=False)) for a in arrays], dtype.name


def _im2col(xp, x, p: ConvPlan, n0: int, n1: int):
    dtype = x.dtype.name
    cols = xp.empty((n1 - n0, p.k, p.length), dtype=dtype)
    itype = p.itype(n1 - n0)
    total = (n1 - n0) * p.k * p.length
    name, src = im2col_source(dtype, itype)
    launch(raw_kernel(xp, src, name), total,
           (x[n0:n1], cols, _itotal(total, itype)) + p.geometry_args())
    return cols


# --------------------------------------------------------------------------- convolution

def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Cross-correlate NCHW ``x`` with OIHW ``w`` (no flip): im2col + cuBLAS."""
    xp = cupy()
    (x, w), dtype = _common(xp, x, w)
    if dtype not in FLOAT_DTYPES:
        return generic_conv.conv2d(x, w, stride, padding, dilation)
    p = ConvPlan(x.shape, w.shape, stride, padding, dilation)
    w2 = w.reshape(p.o, p.k)
    chunks = p.chunks(np.dtype(dtype).itemsize)
    if len(chunks) == 1:
        y = xp.matmul(w2, _im2col(xp, x, p, 0, p.n))            # (O, K) @ (N, K, L)
    else:
        y = xp.empty((p.n, p.o, p.length), dtype=dtype)
        for n0, n1 in chunks:
            y[n0:n1] = xp.matmul(w2, _im2col(xp, x, p, n0, n1))
    return y.reshape(p.n, p.o, p.oh, p.ow)


def conv2d_grad_weight(x, gy, filter_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its filters: the same columns, GEMMs
    against the output gradient, summed over the samples."""
    xp = cupy()
    (x, gy), dtype = _common(xp, x, gy)
    if dtype not in FLOAT_DTYPES:
        return generic_conv.conv2d_grad_weight(x, gy, filter_shape, stride, padding, dilation)
    p = ConvPlan(x.shape, tuple(int(s) for s in filter_shape), stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_weight")
    g = gy.reshape(p.n, p.o, p.length)
    gw = None
    for n0, n1 in p.chunks(np.dtype(dtype).itemsize):
        cols = _im2col(xp, x, p, n0, n1)
        part = xp.matmul(g[n0:n1], cols.transpose(0, 2, 1)).sum(axis=0)   # (O, K)
        gw = part if gw is None else gw + part
    return gw.reshape(p.o, p.c, p.kh, p.kw)


def conv2d_grad_input(gy, w, input_shape, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """The gradient of ``conv2d`` with respect to its input: cuBLAS for the column
    gradient, then the col2im gather. Input cells no output reads get 0."""
    xp = cupy()
    (gy, w), dtype = _common(xp, gy, w)
    if dtype not in FLOAT_DTYPES:
        return generic_conv.conv2d_grad_input(gy, w, input_shape, stride, padding, dilation)
    p = ConvPlan(tuple(int(s) for s in input_shape), w.shape, stride, padding, dilation)
    _check_gy(gy, p, "conv2d_grad_input")
    w2t = w.reshape(p.o, p.k).T
    g = gy.reshape(p.n, p.o, p.length)
    gx = xp.empty((p.n, p.c, p.h, p.w), dtype=dtype)
    for n0, n1 in p.chunks(np.dtype(dtype).itemsize):
        dcols = xp.ascontiguousarray(xp.matmul(w2t, g[n0:n1]))       # (n, K, L)
        itype = p.itype(n1 - n0)
        total = (n1 - n0) * p.c * p.h * p.w
        name, src = col2im_source(dtype, itype)
        launch(raw_kernel(xp, src, name), total,
               (dcols, gx[n0:n1], _itotal(total, itype)) + p.geometry_args())
    return gx


def _check_gy(gy, p: ConvPlan, name: str) -> None:
    if tuple(gy.shape) != (p.n, p.o, p.oh, p.ow):
        raise ValueError(f"{name}: the output gradient has shape {tuple(gy.shape)}, expected "
                         f"{(p.n, p.o, p.oh, p.ow)} for input shape {(p.n, p.c, p.h, p.w)} and "
                         f"filter shape {(p.o, p.c, p.kh, p.kw)}")


# --------------------------------------------------------------------------- pooling

def _pool_args(x_shape, out_hw, ws, stride, pad, mode) -> tuple:
    i32 = np.int32
    return (i32(x_shape[2]), i32(x_shape[3]), i32(out_hw[0]), i32(out_hw[1]), i32(ws[0]),
            i32(ws[1]), i32(stride[0]), i32(stride[1]), i32(pad[0]), i32(pad[1]),
            i32(POOL_MODE_CODES[mode]))


def pool2d(x, ws=(2, 2), stride=None, pad=(0, 0), mode="max", ignore_border=True):
    """Pool the last two axes of the 4-d ``x`` (Theano's rules, see the generic kernel)."""
    xp = cupy()
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    dtype = x.dtype.name
    if mode.startswith("average") and np.dtype(dtype).kind != "f":
        raise TypeError(f"pool2d mode {mode!r} needs a floating-point input, got {dtype}")
    if dtype not in POOL_DTYPES:
        return generic_pool.pool2d(x, ws, stride, pad, mode, ignore_border)
    n, c = (int(s) for s in x.shape[:2])
    out_hw, _ = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    total = n * c * out_hw[0] * out_hw[1]
    if total == 0:
        return xp.zeros((n, c) + out_hw, dtype=dtype)
    x = xp.ascontiguousarray(x)
    y = xp.empty((n, c) + out_hw, dtype=dtype)
    itype = index_type(total, math.prod(x.shape))
    name, src = pool_fwd_source(dtype, itype)
    launch(raw_kernel(xp, src, name), total,
           (x, y, _itotal(total, itype)) + _pool_args(x.shape, out_hw, ws, stride, pad, mode))
    return y


def pool2d_grad(x, out, gout, ws=(2, 2), stride=None, pad=(0, 0), mode="max",
                ignore_border=True):
    """The gradient of ``pool2d`` with respect to ``x`` (a gather per input cell)."""
    xp = cupy()
    ws, stride, pad = check_pool_params(x.shape, ws, stride, pad, mode, ignore_border)
    n, c, h, w = (int(s) for s in x.shape)
    out_hw, _ = pool_geometry(x.shape, ws, stride, pad, ignore_border)
    if tuple(gout.shape) != (n, c) + out_hw:
        raise ValueError(f"pool2d_grad: the output gradient has shape {tuple(gout.shape)}, "
                         f"expected {(n, c) + out_hw}")
    dtype = x.dtype.name
    if (dtype not in POOL_DTYPES or gout.dtype.name != dtype or out.dtype.name != dtype
            or (mode != "max" and np.dtype(dtype).kind != "f")):
        return generic_pool.pool2d_grad(x, out, gout, ws, stride, pad, mode, ignore_border)
    total = n * c * h * w
    if total == 0 or out_hw[0] == 0 or out_hw[1] == 0:
        return xp.zeros((n, c, h, w), dtype=gout.dtype)
    x, out, gout = (xp.ascontiguousarray(a) for a in (x, out, gout))
    gx = xp.empty((n, c, h, w), dtype=dtype)
    itype = index_type(total, n * c * out_hw[0] * out_hw[1])
    name, src = pool_bwd_source(dtype, itype)
    launch(raw_kernel(xp, src, name), total,
           (x, out, gout, gx, _itotal(total, itype))
           + _pool_args(x.shape, out_hw, ws, stride, pad, mode))
    return gx


CUPY_CONV_KERNELS = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_weight": conv2d_grad_weight,
    "pool2d": pool2d,
    "pool2d_grad": pool2d_grad,
}
