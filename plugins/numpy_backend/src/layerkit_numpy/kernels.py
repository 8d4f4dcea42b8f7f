"""Fast numpy kernels overriding the generic ones by name.

Elementwise kernels are numpy (and scipy.special) ufuncs behind a one-line
wrapper: a ufunc cannot carry the ``accepts_out`` attribute that tells the
compiler it may pass ``out=``, so each wrapper carries it, and keeps the ufunc
itself as ``.ufunc`` for code (fusion) that wants to call it directly.
``OUT_KERNELS`` names every kernel here that accepts ``out=``.
"""
from __future__ import annotations

import numpy as np
import scipy.special as sp

__all__ = ["NUMPY_KERNELS", "OUT_KERNELS"]

_M64 = (1 << 64) - 1

_UFUNCS = {
    "negative": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "expm1": np.expm1, "sqrt": np.sqrt, "square": np.square, "sign": np.sign,
    "floor": np.floor, "ceil": np.ceil, "round": np.rint,  # rint: half to even, as the standard
    "trunc": np.trunc, "sin": np.sin, "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin,
    "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh,
    "reciprocal": np.reciprocal, "logical_not": np.logical_not, "isnan": np.isnan,
    "isinf": np.isinf,
    "sigmoid": sp.expit,  # stable for any input, unlike 1 / (1 + exp(-x))
    "erf": sp.erf,
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "power": np.power,
    "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal,
    "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
    "greater": np.greater, "greater_equal": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "arctan2": np.arctan2,
}


def _out_kernel(fn):
    """Mark ``fn`` as accepting ``out=``."""
    fn.accepts_out = True
    return fn


def _ufunc_kernel(name, ufunc):
    def kernel(*args, out=None):
        return ufunc(*args, out=out)
    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"``{name}``: the ufunc ``{ufunc.__name__}``; accepts ``out=``."
    kernel.ufunc = ufunc
    kernel.direct = ufunc    # same signature, one Python frame less per call
    return _out_kernel(kernel)


@_out_kernel
def softplus(x, out=None):
    """``log(1 + exp(x))`` as ``logaddexp(0, x)``: finite for any x."""
    return np.logaddexp(0, x, out=out)


def where(cond, a, b):
    return np.where(cond, a, b)


@_out_kernel
def clip(x, lo, hi, out=None):
    return np.minimum(np.maximum(x, lo), hi, out=out)


def astype(x, dtype):
    return np.asarray(x).astype(dtype)   # always a copy, as the contract wants


def _reduction(method):
    fn = getattr(np, method)

    def kernel(x, axis=None, keepdims=False):
        # the ndarray method skips numpy's Python-level dispatch (about 1 us a call)
        if type(x) is np.ndarray:
            return getattr(x, method)(axis=axis, keepdims=keepdims)
        return fn(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = kernel.__qualname__ = fn.__name__
    return kernel


def argmax(x, axis=None, keepdims=False):
    return np.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return np.argmin(x, axis=axis, keepdims=keepdims)


def softmax(x, axis=-1):
    # subtracting the maximum keeps exp from overflowing; in place saves two temporaries
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


def logsumexp(x, axis=None, keepdims=False):
    return sp.logsumexp(x, axis=axis, keepdims=keepdims)


def getitem(x, key):
    return x[key]


def setitem(x, key, y, inc=False):
    out = np.array(x, copy=True)
    if inc:
        out[key] += y
    else:
        out[key] = y
    return out


def take(x, indices, axis=0):
    return np.take(x, indices, axis=axis)


def scatter_add(x, indices, values, axis=0):
    """``x`` plus ``values`` at ``indices`` along ``axis``; duplicates accumulate.

    ``np.add.at`` has had a fast path since numpy 1.25: measured on numpy 2.4
    it matches or beats both a sort + ``np.add.reduceat`` and ``np.bincount``
    (1-d) for every shape tried (docs/decisions.md), so it is used directly.
    """
    out = np.array(x, copy=True)
    np.add.at(out, (slice(None),) * axis + (np.asarray(indices),), values)
    return out


def matmul(a, b):
    return np.matmul(a, b)   # BLAS for float32/float64


def tensordot(a, b, axes):
    return np.tensordot(a, b, axes=(list(axes[0]), list(axes[1])))


def reshape(x, shape):
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


def permute_dims(x, axes):
    return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)


def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


def concatenate(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


# -- random -----------------------------------------------------------------
def _generator(key, counter):
    """A Philox generator for (key, counter).

    Both go into Philox's 128-bit *key*, not its counter: Philox streams with
    nearby counters are shifted copies of each other (a draw advances the
    counter), while distinct keys give independent streams.
    """
    return np.random.Generator(np.random.Philox(key=((key & _M64) << 64) | (counter & _M64)))


def random_uniform(key, counter, shape, dtype, xp=None, low=0.0, high=1.0):
    g = _generator(key, counter)
    fdt = dtype if dtype in ("float32", "float64") else "float64"
    u = g.random(shape, dtype=fdt)
    if (low, high) != (0.0, 1.0):
        u = low + (high - low) * u
    return np.asarray(u, dtype=dtype)


def random_normal(key, counter, shape, dtype, xp=None, mean=0.0, std=1.0):
    g = _generator(key, counter)
    fdt = dtype if dtype in ("float32", "float64") else "float64"
    z = g.standard_normal(shape, dtype=fdt)
    if (mean, std) != (0.0, 1.0):
        z = mean + std * z
    return np.asarray(z, dtype=dtype)


def random_binomial(key, counter, shape, dtype, xp=None, n=1, p=0.5):
    g = _generator(key, counter)
    if n == 1:   # dropout masks: one comparison is much faster than the binomial sampler
        return np.asarray(g.random(shape) < p, dtype=dtype)
    return np.asarray(g.binomial(n, p, shape), dtype=dtype)


NUMPY_KERNELS = {
    **{name: _ufunc_kernel(name, uf) for name, uf in _UFUNCS.items()},
    "softplus": softplus, "where": where, "clip": clip, "astype": astype,
    **{n: _reduction(n) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": argmax, "argmin": argmin, "softmax": softmax, "log_softmax": log_softmax,
    "logsumexp": logsumexp, "getitem": getitem, "setitem": setitem, "take": take,
    "scatter_add": scatter_add, "matmul": matmul, "tensordot": tensordot,
    "reshape": reshape, "permute_dims": permute_dims, "broadcast_to": broadcast_to,
    "concatenate": concatenate, "stack": stack,
    "random_uniform": random_uniform, "random_normal": random_normal,
    "random_binomial": random_binomial,
}
try:  # fast convolution and pooling arrive in their own module
    from .conv import NUMPY_CONV_KERNELS
except ModuleNotFoundError as err:
    if err.name != f"{__package__}.conv":
        raise
else:
    NUMPY_KERNELS.update(NUMPY_CONV_KERNELS)

#: the kernels above that accept ``out=``
OUT_KERNELS = frozenset(k for k, f in NUMPY_KERNELS.items() if getattr(f, "accepts_out", False))
