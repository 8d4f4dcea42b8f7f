"""Elementwise kernels: cupy's ufuncs (``cupyx.scipy.special`` for ``sigmoid``
= expit and ``erf``) behind one-line wrappers that accept ``out=``, as the numpy
backend's do (decision D59).

Importing this module never imports cupy: every kernel finds the cupy module
when it is called (``_cuda.cupy()``), so the table can be read on machines
without a GPU. The same ops fused into one generated kernel: ``fusion.py``.
"""
from __future__ import annotations

import importlib

from ._cuda import cupy

__all__ = ["ELEMWISE_KERNELS", "UFUNC_NAMES"]

#: kernel name -> (module, attribute): "" is cupy itself, "special" is cupyx.scipy.special
UFUNC_NAMES = {
    **{n: ("", n) for n in (
        "negative abs exp log log1p expm1 sqrt square sign floor ceil trunc sin cos tan "
        "arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh reciprocal logical_not "
        "isnan isinf add subtract multiply divide floor_divide remainder power maximum "
        "minimum equal not_equal less less_equal greater greater_equal logical_and "
        "logical_or logical_xor arctan2").split()},
    "round": ("", "rint"),               # half to even, as the standard
    "sigmoid": ("special", "expit"),     # stable for any input
    "erf": ("special", "erf"),
}

_RESOLVED: dict = {}


def _resolve(where: str, attr: str):
    """cupy's (or cupyx.scipy.special's) function ``attr``, looked up once per cupy module."""
    xp = cupy()
    key = (xp, where, attr)
    fn = _RESOLVED.get(key)
    if fn is None:
        if where == "special":
            mod = importlib.import_module("cupyx.scipy.special")
        else:
            mod = xp
        fn = _RESOLVED[key] = getattr(mod, attr)
    return fn


def _out_kernel(fn):
    fn.accepts_out = True
    return fn


def _ufunc_kernel(name: str, where: str, attr: str):
    def kernel(*args, out=None):
        return _resolve(where, attr)(*args, out=out)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"``{name}``: cupy's ``{attr}``; accepts ``out=``."
    return _out_kernel(kernel)


@_out_kernel
def softplus(x, out=None):
    """``log(1 + exp(x))`` as ``logaddexp(0, x)``: finite for any x."""
    return cupy().logaddexp(0, x, out=out)


def where(cond, a, b):
    return cupy().where(cond, a, b)


@_out_kernel
def clip(x, lo, hi, out=None):
    xp = cupy()
    return xp.minimum(xp.maximum(x, lo), hi, out=out)


def astype(x, dtype):
    return x.astype(dtype)    # always a copy, as the contract wants


ELEMWISE_KERNELS = {
    **{name: _ufunc_kernel(name, *where_attr) for name, where_attr in UFUNC_NAMES.items()},
    "softplus": softplus, "where": where, "clip": clip, "astype": astype,
}
