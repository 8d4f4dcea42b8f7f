"""Convolution on the GPU (NCHW images, OIHW filters).

Semantics are the generic kernels' (``layerkit.backend.kernels.conv``,
decisions D62-D63); the shared geometry (``layerkit.backend.ConvGeometry``) comes
from there, so output sizes, validation and error messages are the same.

* ``conv2d``: an im2col kernel writes the columns ``(n, K, L)`` (``K = C*kh*kw``
  ordered (c, i, j); ``L = oh*ow``) of a chunk of samples, zero where a tap
  reads padding; one batched cuBLAS GEMM ``(O, K) @ (n, K, L)`` writes NCHW.
* ``conv2d_grad_weight``: the same columns, ``(n, O, L) @ (n, L, K)`` by
  cuBLAS, summed over the samples.
* ``conv2d_grad_input``: ``(K, O) @ (n, O, L)`` by cuBLAS gives the column
  gradient; a col2im kernel then *gathers*: one thread per input cell sums the
  column entries of the taps that read it (no atomics, so the result is
  deterministic; cells no tap reads get 0).

All the index arithmetic is in the CUDA source below (``*_source``
functions, pure text). The tests compile that same text with a host C++
compiler, run its blocks and threads in sequence on numpy arrays, and compare
with the generic kernels; on a GPU cupy compiles it with NVRTC. Pooling:
``pool.py``.
"""
from __future__ import annotations

import functools

import numpy as np

from layerkit.backend import GENERIC_KERNELS, ConvGeometry

from ._cuda import LOOP, cupy, ctype, index_type, itotal, launch, raw_kernel, suffix

__all__ = ["CUPY_CONV_KERNELS", "conv2d", "conv2d_grad_input", "conv2d_grad_weight",
           "im2col_source", "col2im_source", "ConvPlan", "CHUNK_BYTES", "FLOAT_DTYPES"]

#: the column matrix of one chunk of samples takes at most about this many bytes
#: (a chunk is at least one sample)
CHUNK_BYTES = 256 << 20
#: dtypes the convolution kernels run natively (others use the generic kernels)
FLOAT_DTYPES = ("float32", "float64")


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
    {LOOP.format(I=I)}
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
    {LOOP.format(I=I)}
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
           (x[n0:n1], cols, itotal(total, itype)) + p.geometry_args())
    return cols



# --------------------------------------------------------------------------- convolution

def conv2d(x, w, stride=(1, 1), padding=(0, 0), dilation=(1, 1)):
    """Cross-correlate NCHW ``x`` with OIHW ``w`` (no flip): im2col + cuBLAS."""
    xp = cupy()
    (x, w), dtype = _common(xp, x, w)
    if dtype not in FLOAT_DTYPES:
        return GENERIC_KERNELS["conv2d"](x, w, stride, padding, dilation)
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
        return GENERIC_KERNELS["conv2d_grad_weight"](x, gy, filter_shape, stride, padding, dilation)
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
        return GENERIC_KERNELS["conv2d_grad_input"](gy, w, input_shape, stride, padding, dilation)
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
               (dcols, gx[n0:n1], itotal(total, itype)) + p.geometry_args())
    return gx


def _check_gy(gy, p: ConvPlan, name: str) -> None:
    if tuple(gy.shape) != (p.n, p.o, p.oh, p.ow):
        raise ValueError(f"{name}: the output gradient has shape {tuple(gy.shape)}, expected "
                         f"{(p.n, p.o, p.oh, p.ow)} for input shape {(p.n, p.c, p.h, p.w)} and "
                         f"filter shape {(p.o, p.c, p.kh, p.kw)}")



CUPY_CONV_KERNELS = {
    "conv2d": conv2d,
    "conv2d_grad_input": conv2d_grad_input,
    "conv2d_grad_weight": conv2d_grad_weight,
}
