"""Fast numpy kernels overriding the generic ones by name."""
from __future__ import annotations

import numpy as np
import scipy.special as sp

__all__ = ["NUMPY_KERNELS"]

_UFUNCS = {
    "negative": np.negative, "abs": np.abs, "exp": np.exp, "log": np.log, "log1p": np.log1p,
    "expm1": np.expm1, "sqrt": np.sqrt, "square": np.square, "sign": np.sign,
    "floor": np.floor, "ceil": np.ceil, "round": np.rint, "trunc": np.trunc, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "arcsin": np.arcsin, "arccos": np.arccos,
    "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh,
    "reciprocal": np.reciprocal, "logical_not": np.logical_not, "isnan": np.isnan,
    "isinf": np.isinf, "add": np.add, "subtract": np.subtract, "multiply": np.multiply,
    "divide": np.divide, "floor_divide": np.floor_divide, "remainder": np.remainder,
    "power": np.power, "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal,
    "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
    "greater": np.greater, "greater_equal": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "arctan2": np.arctan2, "sigmoid": sp.expit, "erf": sp.erf,
}


def softplus(x, out=None):
    return np.logaddexp(0, x, out=out)


def where(cond, a, b):
    return np.where(cond, a, b)


def clip(x, lo, hi, out=None):
    return np.minimum(np.maximum(x, lo), hi, out=out)


def astype(x, dtype):
    return np.asarray(x).astype(dtype)


def _reduction(fn):
    def kernel(x, axis=None, keepdims=False):
        return fn(x, axis=axis, keepdims=keepdims)
    kernel.__name__ = fn.__name__
    return kernel


def argmax(x, axis=None, keepdims=False):
    return np.argmax(x, axis=axis, keepdims=keepdims)


def argmin(x, axis=None, keepdims=False):
    return np.argmin(x, axis=axis, keepdims=keepdims)


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x):
    shifted = x - x.max(axis=-1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted


def logsumexp(x, axis=None, keepdims=False):
    return sp.logsumexp(x, axis=axis, keepdims=keepdims)


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

    Along axis 0 of a 2-d array this is a sparse-style sum done with one sort
    and ``np.add.reduceat``, much faster than ``np.add.at``.
    """
    out = np.array(x, copy=True)
    moved = np.moveaxis(out, axis, 0)
    vals = np.moveaxis(np.asarray(values, dtype=out.dtype), axis, 0)
    idx = np.asarray(indices).reshape(-1)
    idx = np.where(idx < 0, idx + moved.shape[0], idx)
    if idx.size == 0:
        return out
    order = np.argsort(idx, kind="stable")
    sorted_idx = idx[order]
    starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
    sums = np.add.reduceat(vals[order], starts, axis=0)
    moved[sorted_idx[starts]] += sums
    return out


def _generator(key, counter):
    return np.random.Generator(np.random.Philox(key=key, counter=counter))


def random_uniform(key, counter, shape, dtype, xp=None, low=0.0, high=1.0):
    g = _generator(key, counter)
    if dtype in ("float32", "float64"):
        u = g.random(shape, dtype=dtype)
        if (low, high) != (0.0, 1.0):
            u = (low + (high - low) * u).astype(dtype, copy=False)
        return u
    return g.uniform(low, high, shape).astype(dtype)


def random_normal(key, counter, shape, dtype, xp=None, mean=0.0, std=1.0):
    g = _generator(key, counter)
    if dtype in ("float32", "float64"):
        z = g.standard_normal(shape, dtype=dtype)
        if (mean, std) != (0.0, 1.0):
            z = (mean + std * z).astype(dtype, copy=False)
        return z
    return g.normal(mean, std, shape).astype(dtype)


def random_binomial(key, counter, shape, dtype, xp=None, n=1, p=0.5):
    g = _generator(key, counter)
    if n == 1:
        return (g.random(shape) < p).astype(dtype)
    return g.binomial(n, p, shape).astype(dtype)


def matmul(a, b):
    return np.matmul(a, b)


def tensordot(a, b, axes):
    return np.tensordot(a, b, axes=(list(axes[0]), list(axes[1])))


def reshape(x, shape):
    return np.reshape(x, shape)


def permute_dims(x, axes):
    return np.transpose(x, axes)


def broadcast_to(x, shape):
    return np.broadcast_to(x, shape)


def concatenate(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def stack(*xs, axis=0):
    return np.stack(xs, axis=axis)


def getitem(x, key):
    return x[key]


NUMPY_KERNELS = {
    **_UFUNCS,
    "softplus": softplus, "where": where, "clip": clip, "astype": astype,
    **{n: _reduction(getattr(np, n)) for n in ("sum", "prod", "max", "min", "mean", "any", "all")},
    "argmax": argmax, "argmin": argmin, "softmax": softmax, "log_softmax": log_softmax,
    "logsumexp": logsumexp, "setitem": setitem, "take": take, "scatter_add": scatter_add,
    "random_uniform": random_uniform, "random_normal": random_normal,
    "random_binomial": random_binomial, "matmul": matmul, "tensordot": tensordot,
    "reshape": reshape, "permute_dims": permute_dims, "broadcast_to": broadcast_to,
    "concatenate": concatenate, "stack": stack, "getitem": getitem,
}
try:  # fast convolution and pooling arrive in their own module
    from .conv import NUMPY_CONV_KERNELS
    NUMPY_KERNELS.update(NUMPY_CONV_KERNELS)
except ImportError:
    pass
