"""The cupy backend's kernel table (overriding the generic kernels by name).

Importing this module never imports cupy: every kernel finds the cupy module
when it is called (``_cuda.cupy()``), so the table can be a class attribute of
the backend, read by the registry on machines without a GPU.

* Elementwise kernels are cupy's ufuncs (``cupyx.scipy.special`` for
  ``sigmoid`` = expit and ``erf``) behind one-line wrappers that accept
  ``out=``, as the numpy backend's do (decision 20).
* Reductions, shapes and indexing call cupy directly (the generic versions go
  through ``array_api_compat``, a few microseconds more per call).
* ``matmul``/``tensordot`` are cuBLAS through cupy.
* ``softmax``/``log_softmax``: ``nnet.py``; the random draws: ``random.py``;
  convolution and pooling: ``conv.py``.
* ``scatter_add`` stays generic (a sort and a segmented scan): cupy's own
  ``scatter_add`` uses atomics, whose order, and so whose rounding, changes
  from run to run; DESIGN 4a promises replays that are exact on one backend.
"""
from __future__ import annotations

import importlib

from layerkit.backend.kernels.indexing import nonnegative_indices

from ._cuda import cupy
from .conv import CUPY_CONV_KERNELS
from .nnet import NNET_KERNELS
from .random import RANDOM_KERNELS

__all__ = ["CUPY_KERNELS", "OUT_KERNELS", "UFUNC_NAMES"]

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


def _reduction(name: str):
    def kernel(x, axis=None, keepdims=False):
        return getattr(cupy(), name)(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def argmax(x, axis=None, keepdims=False):
    return cupy().argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return cupy().argmin(x, axis=axis, keepdims=keepdims)


def getitem(x, key):
    return x[key]


def setitem(x, key, y, inc=False):
    out = x.copy()
    if inc:
        out[key] += y
    else:
        out[key] = y
    return out


def take(x, indices, axis=0):
    """cupy's ``take`` wraps an out-of-range index silently (``mode`` is not
    supported); the bounds are checked first, as numpy and the generic kernel do."""
    xp = cupy()
    return xp.take(x, nonnegative_indices(indices, x.shape[axis], xp, axis), axis=axis)


def matmul(a, b):
    """cuBLAS (through cupy) for float32/float64."""
    return cupy().matmul(a, b)


def tensordot(a, b, axes):
    return cupy().tensordot(a, b, axes=(list(axes[0]), list(axes[1])))


def reshape(x, shape):
    return cupy().reshape(x, shape)


def permute_dims(x, axes):
    return cupy().transpose(x, axes)


def broadcast_to(x, shape):
    return cupy().broadcast_to(x, shape)


def concatenate(*xs, axis=0):
    return cupy().concatenate(xs, axis=axis)


def stack(*xs, axis=0):
    return cupy().stack(xs, axis=axis)


CUPY_KERNELS = {
    **{name: _ufunc_kernel(name, *where_attr) for name, where_attr in UFUNC_NAMES.items()},
    "softplus": softplus, "where": where, "clip": clip, "astype": astype,
    **{n: _reduction(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": argmax, "argmin": argmin, "getitem": getitem, "setitem": setitem, "take": take,
    "matmul": matmul, "tensordot": tensordot, "reshape": reshape,
    "permute_dims": permute_dims, "broadcast_to": broadcast_to, "concatenate": concatenate,
    "stack": stack,
    **NNET_KERNELS, **RANDOM_KERNELS, **CUPY_CONV_KERNELS,
}

#: the kernels above that accept ``out=``
OUT_KERNELS = frozenset(k for k, f in CUPY_KERNELS.items() if getattr(f, "accepts_out", False))
