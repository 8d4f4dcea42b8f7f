"""Shared pieces of the plugin's CUDA code: C types, the array module, compiled-kernel
caches and launches.

Every custom kernel here is a ``__global__`` function with a *grid-stride loop*
(each thread handles the flat indices ``tid, tid + threads, ...``) and no shared
memory or synchronisation, so it computes the same result for any launch shape,
and running its blocks and threads one after another on a CPU (what the
plugin's tests do, compiling the same source with a host C++ compiler) is an
exact emulation. Scalars are passed as numpy scalars of exactly the C type the
signature declares: cupy passes a scalar's bytes as they are, so an ``int64``
given for an ``int`` parameter would be read wrongly on the device.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import numpy as np

__all__ = ["CTYPES", "ctype", "suffix", "index_type", "cupy", "raw_kernel",
           "elementwise_kernel", "launch", "grid_for", "BLOCK", "MAX_GRID", "INT32_MAX",
           "KERNEL_CACHE", "LOOP", "itotal"]

#: numpy dtype name -> the C type cupy uses for it
CTYPES = {"bool": "bool", "int8": "signed char", "int16": "short", "int32": "int",
          "int64": "long long", "uint8": "unsigned char", "uint16": "unsigned short",
          "uint32": "unsigned int", "uint64": "unsigned long long", "float16": "float16",
          "float32": "float", "float64": "double"}

#: threads per block of the custom kernels, and the most blocks one launch uses
#: (the grid-stride loop covers the rest)
BLOCK = 256
MAX_GRID = 65535
INT32_MAX = 2**31 - 1

#: the head of a grid-stride loop over ``idx < total`` (``str.format`` it with ``I``,
#: the index type)
LOOP = ("for ({I} idx = ({I})blockIdx.x * blockDim.x + threadIdx.x; idx < total;\n"
        "         idx += ({I})blockDim.x * gridDim.x) {{")


def ctype(dtype: Any) -> str:
    """The C type of a numpy dtype (or dtype name)."""
    name = np.dtype(dtype).name
    try:
        return CTYPES[name]
    except KeyError:
        raise TypeError(f"no CUDA type for dtype {name}") from None


def suffix(dtype: Any) -> str:
    """A short name for a dtype inside kernel names: ``f32``, ``i64``, ``u8``, ``b``."""
    d = np.dtype(dtype)
    if d.kind == "b":
        return "b"
    return {"f": "f", "i": "i", "u": "u"}[d.kind] + str(8 * d.itemsize)


def index_type(*sizes: int) -> str:
    """``int`` when every flat index fits in 32 bits (faster division on the GPU),
    else ``long long``."""
    return "int" if max(sizes, default=0) <= INT32_MAX else "long long"


def itotal(total: int, itype: str) -> Any:
    """``total`` as the numpy scalar of the C index type ``itype``."""
    return np.int32(total) if itype == "int" else np.int64(total)


def cupy() -> Any:
    """The cupy module: whatever ``sys.modules['cupy']`` holds (the tests put a
    host emulation there), else ``import cupy``."""
    mod = sys.modules.get("cupy")
    if mod is None:
        mod = importlib.import_module("cupy")
    return mod


#: (module, kind, name, source text) -> compiled kernel object. Kernels are cached
#: by their source, so two requests that generate the same text share one kernel.
KERNEL_CACHE: dict = {}


def raw_kernel(xp: Any, source: str, name: str) -> Any:
    """``xp.RawKernel(source, name)``, made once per source text."""
    key = (xp, "raw", name, source)
    kern = KERNEL_CACHE.get(key)
    if kern is None:
        kern = KERNEL_CACHE[key] = xp.RawKernel(source, name)
    return kern


def elementwise_kernel(xp: Any, in_params: str, out_params: str, body: str, name: str,
                       preamble: str = "") -> Any:
    """``xp.ElementwiseKernel(...)``, made once per (params, body, preamble) text."""
    key = (xp, "elementwise", name, in_params, out_params, body, preamble)
    kern = KERNEL_CACHE.get(key)
    if kern is None:
        kern = KERNEL_CACHE[key] = xp.ElementwiseKernel(in_params, out_params, body, name,
                                                        preamble=preamble)
    return kern


def grid_for(n: int, block: int = BLOCK) -> int:
    """Blocks for ``n`` flat indices (at least 1, at most ``MAX_GRID``)."""
    return max(1, min(MAX_GRID, -(-int(n) // block)))


def launch(kernel: Any, n: int, args: tuple, block: int = BLOCK) -> None:
    """Launch a grid-stride kernel over ``n`` flat indices."""
    kernel((grid_for(n, block),), (block,), args)
