"""Pooling of the last two axes on the GPU (NCHW images).

Semantics are the generic kernels' (``layerkit.backend.kernels.pool``,
decisions D62-D63); the shared helpers (``layerkit.backend.check_pool_params``,
``pool_geometry``) come from there, so output sizes, validation and error
messages are the same.

* ``pool2d``: one thread per output cell walks its window's real cells (padding
  never wins a max; averages divide as decision D62 says).
* ``pool2d_grad``: one thread per input cell gathers from the windows that
  contain it, in the order the generic kernel adds them, so sums and averages
  agree with it bit for bit; max sends a window's ``gout`` to its first maximum
  in window order (row-major within the window, padding never; decision D62): a
  cell equal to ``out`` takes it when no real cell before it in the window does.

As in ``conv.py``, the index arithmetic is CUDA source text (``*_source``),
compiled on the host by the tests and by NVRTC on a GPU.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from layerkit.backend import GENERIC_KERNELS, check_pool_params, pool_geometry

from ._cuda import LOOP, cupy, ctype, index_type, itotal, launch, raw_kernel, suffix

__all__ = ["CUPY_POOL_KERNELS", "pool2d", "pool2d_grad", "pool_fwd_source", "pool_bwd_source",
           "POOL_MODE_CODES", "POOL_DTYPES"]

#: dtypes the pooling kernels run natively
POOL_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
               "uint32", "uint64")
POOL_MODE_CODES = {"max": 0, "sum": 1, "average_inc_pad": 2, "average_exc_pad": 3}


# --------------------------------------------------------------------------- CUDA source

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
    {LOOP.format(I=I)}
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
    which the generic kernel's tap loop adds them. Max: a cell equal to a window's
    maximum takes that window's gradient only if no real cell before it in window
    order (row-major within the window) equals the maximum (the first maximum wins;
    the scan runs only for cells equal to a maximum).
    """
    T, I = ctype(dtype), itype
    name = f"lk_pool_bwd_{suffix(dtype)}_{'i32' if I == 'int' else 'i64'}"
    src = f"""extern "C" __global__ void {name}(const {T}* __restrict__ x,
    const {T}* __restrict__ out, const {T}* __restrict__ gout, {T}* __restrict__ gx,
    {I} total, int H, int W, int oh, int ow, int wh, int ww, int sh, int sw, int ph, int pw,
    int mode)
{{
    {LOOP.format(I=I)}
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
                    const {T} m = out[o];
                    if (xv == m) {{
                        /* first maximum in window order: no real cell before (qy, qx) */
                        const int y0 = a * sh, x0 = b * sw;
                        const int ylo = y0 > ph ? y0 : ph;
                        const int xlo = x0 > pw ? x0 : pw;
                        const int xhi = (x0 + ww < pw + W) ? x0 + ww : pw + W;
                        const {T}* p = x + plane * H * W;
                        bool first = true;
                        for (int yy = ylo; yy <= qy && first; ++yy) {{
                            const int xe = yy < qy ? xhi : qx;
                            for (int xx = xlo; xx < xe; ++xx) {{
                                if (p[(yy - ph) * W + (xx - pw)] == m) {{ first = false; break; }}
                            }}
                        }}
                        if (first) acc += gout[o];
                    }}
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


# --------------------------------------------------------------------------- kernels

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
        return GENERIC_KERNELS["pool2d"](x, ws, stride, pad, mode, ignore_border)
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
           (x, y, itotal(total, itype)) + _pool_args(x.shape, out_hw, ws, stride, pad, mode))
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
        return GENERIC_KERNELS["pool2d_grad"](x, out, gout, ws, stride, pad, mode, ignore_border)
    total = n * c * h * w
    if total == 0 or out_hw[0] == 0 or out_hw[1] == 0:
        return xp.zeros((n, c, h, w), dtype=gout.dtype)
    x, out, gout = (xp.ascontiguousarray(a) for a in (x, out, gout))
    gx = xp.empty((n, c, h, w), dtype=dtype)
    itype = index_type(total, n * c * out_hw[0] * out_hw[1])
    name, src = pool_bwd_source(dtype, itype)
    launch(raw_kernel(xp, src, name), total,
           (x, out, gout, gx, itotal(total, itype))
           + _pool_args(x.shape, out_hw, ws, stride, pad, mode))
    return gx


CUPY_POOL_KERNELS = {"pool2d": pool2d, "pool2d_grad": pool2d_grad}
