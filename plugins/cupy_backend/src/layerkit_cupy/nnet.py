"""softmax and log-softmax along one axis (the last by default) on the GPU.

Along the last axis, rows of at most ``ROW_KERNEL_MAX_COLS`` entries (a
classifier's 10 or 100 classes) run as one kernel with one thread per row: the
row's maximum, the sum of ``exp(x - max)``, then the result, as the generic
kernel computes it. Longer rows, and any other axis, use the generic kernel on
cupy's reductions (max, exp, sum along the axis: a few launches, each over much
work).
"""
from __future__ import annotations

import functools

import numpy as np

from layerkit.backend import GENERIC_KERNELS

from ._cuda import cupy, ctype, index_type, launch, raw_kernel, suffix

__all__ = ["softmax", "log_softmax", "softmax_source", "ROW_KERNEL_MAX_COLS", "NNET_KERNELS"]

#: rows up to this length use the one-thread-per-row kernel
ROW_KERNEL_MAX_COLS = 64

_MATH = {"float32": ("expf", "logf"), "float64": ("exp", "log")}


@functools.lru_cache(maxsize=None)   # pure: the same text for the same types
def softmax_source(dtype: str, itype: str) -> tuple[str, str]:
    """``(name, source)`` of the row kernel; ``log_mode`` 1 gives log-softmax."""
    T = ctype(dtype)
    exp, log = _MATH[dtype]
    I = itype
    name = f"lk_softmax_rows_{suffix(dtype)}_{'i32' if I == 'int' else 'i64'}"
    src = f"""extern "C" __global__ void {name}(const {T}* __restrict__ x, {T}* __restrict__ y,
    {I} total, int cols, int log_mode)
{{
    for ({I} row = ({I})blockIdx.x * blockDim.x + threadIdx.x; row < total;
         row += ({I})blockDim.x * gridDim.x) {{
        const {T}* xr = x + row * cols;
        {T}* yr = y + row * cols;
        {T} m = xr[0];
        for (int j = 1; j < cols; ++j) {{
            const {T} v = xr[j];
            if (v > m || v != v) m = v;
        }}
        {T} s = ({T})0;
        for (int j = 0; j < cols; ++j) s += {exp}(xr[j] - m);
        if (log_mode) {{
            const {T} ls = {log}(s);
            for (int j = 0; j < cols; ++j) yr[j] = (xr[j] - m) - ls;
        }} else {{
            for (int j = 0; j < cols; ++j) yr[j] = {exp}(xr[j] - m) / s;
        }}
    }}
}}
"""
    return name, src


def _rows(x, log_mode: int):
    xp = cupy()
    dtype = x.dtype.name
    cols = int(x.shape[-1]) if x.ndim else 0
    rows = int(np.prod(x.shape[:-1], dtype=np.int64)) if x.ndim else 0
    if dtype not in _MATH or not 0 < cols <= ROW_KERNEL_MAX_COLS or rows == 0:
        return None
    x = xp.ascontiguousarray(x)
    y = xp.empty(x.shape, dtype=dtype)
    itype = index_type(rows * cols)
    name, src = softmax_source(dtype, itype)
    total = np.int32(rows) if itype == "int" else np.int64(rows)
    launch(raw_kernel(xp, src, name), rows, (x, y, total, np.int32(cols), np.int32(log_mode)))
    return y


def _is_last(x, axis) -> bool:
    return x.ndim > 0 and axis in (-1, x.ndim - 1)


def softmax(x, axis=-1):
    """``exp(x - max) / sum(exp(x - max))`` along ``axis``: one thread per row for
    short rows of the last axis, the generic kernel (cupy's own reductions) otherwise."""
    y = _rows(x, 0) if _is_last(x, axis) else None
    return GENERIC_KERNELS["softmax"](x, axis=axis) if y is None else y


def log_softmax(x, axis=-1):
    """``(x - max) - log(sum(exp(x - max)))`` along ``axis`` (as :func:`softmax`)."""
    y = _rows(x, 1) if _is_last(x, axis) else None
    return GENERIC_KERNELS["log_softmax"](x, axis=axis) if y is None else y


NNET_KERNELS = {"softmax": softmax, "log_softmax": log_softmax}
