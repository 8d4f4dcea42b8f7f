"""Reductions and their builders: sum, prod, max, min, mean, any, all, argmax,
argmin; var, std, norm and logsumexp built from them."""
from __future__ import annotations

import builtins

import numpy as np

from ..config import config
from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, as_dtype, is_float
from .basic import cast, disconnected_grad, normalize_axis
from .elemwise import abs_, eq, exp, log, pow, sqr, sqrt
from .shape import alloc, dimshuffle, shape_of, stack, sum_to

__all__ = ["Reduce", "ArgReduce", "as_stacked", "reduce", "reduce_acc", "sum_to", "normalize_axis", "expand",
           "sum", "prod", "mean", "max", "min", "any", "all", "argmax", "argmin", "var", "std",
           "norm", "logsumexp"]


def _out_dtype(name: str, dtype: str, acc_dtype: str | None) -> str:
    if name in ("any", "all"):
        return "bool"
    if name in ("max", "min"):
        return dtype
    if name == "mean":
        if acc_dtype:
            return acc_dtype
        return dtype if is_float(dtype) else config.floatX
    if acc_dtype:
        return acc_dtype
    return np.zeros(1, dtype=dtype).sum().dtype.name  # numpy's accumulator (bool->int64)


class Reduce(Op):
    """Reduce over ``axis`` (a tuple, or None for all) with the kernel ``name``."""

    __props__ = ("name", "axis", "keepdims", "dtype")

    def __init__(self, name: str, axis, keepdims: bool = False, dtype: str | None = None) -> None:
        self.name, self.axis, self.keepdims, self.dtype = name, axis, bool(keepdims), dtype

    def __repr__(self) -> str:
        return f"{self.name}{{axis={self.axis}{', keepdims' if self.keepdims else ''}}}"

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        axes = range(x.ndim) if self.axis is None else self.axis
        out_dtype = _out_dtype(self.name, x.dtype, self.dtype)
        if self.name in ("sum", "prod", "mean") and x.dtype != out_dtype and x.dtype != "bool":
            x = cast(x, out_dtype)
        elif self.name in ("sum", "prod", "mean") and x.dtype == "bool":
            x = cast(x, out_dtype)
        if self.name in ("max", "min") and x.ndim and self.axis is not None:
            for a in axes:
                if x.type.shape[a] == 0:
                    raise ShapeError(f"{self.name} over an empty axis {a} of {x.type.shape}")
        shape = tuple(1 if a in axes else s for a, s in enumerate(x.type.shape)
                      if self.keepdims or a not in axes)
        return Apply(self, [x], [TensorType(out_dtype, shape)])

    def grad(self, inputs, outputs, output_grads):
        x, z, g = inputs[0], outputs[0], output_grads[0]
        if not is_float(x.dtype) or self.name in ("any", "all"):
            return [None]
        axes = tuple(range(x.ndim)) if self.axis is None else self.axis
        if not self.keepdims:
            g, z = expand(g, axes, x.ndim), expand(z, axes, x.ndim)
        if self.name == "sum":
            gx = alloc(g, *[x.shape[i] for i in range(x.ndim)]) if x.ndim else g
        elif self.name == "mean":
            count = prod(stack([x.shape[a] for a in axes])) if axes else 1
            gx = alloc(g / cast(count, g.dtype), *[x.shape[i] for i in range(x.ndim)]) \
                if x.ndim else g
        elif self.name in ("max", "min"):
            # Theano's rule: the gradient goes to every element equal to the extremum
            gx = g * eq(x, z)
        elif self.name == "prod":
            gx = g * z / x
        else:
            return [None]
        return [cast(gx, x.dtype)]

    def thunk(self, backend, node):
        fn = backend.kernel(self.name)
        axis, keepdims = self.axis, self.keepdims
        out = node.outputs[0].dtype
        if self.name in ("sum", "prod") and out in _NARROW:
            # the standard's sum/prod of a narrow integer or bool give the default
            # integer; wrapping that to the declared dtype is exactly what an
            # accumulator of that dtype gives (integer + and * commute with the wrap)
            astype = backend.kernel("astype")
            return lambda x: astype(fn(x, axis=axis, keepdims=keepdims), out)
        return lambda x: fn(x, axis=axis, keepdims=keepdims)


#: dtypes the standard's sum/prod never return for themselves
_NARROW = frozenset(("bool", "int8", "int16", "int32", "uint8", "uint16", "uint32"))


def _check_acc(name: str, x_dtype: str, acc: str) -> None:
    """Refuse an accumulator less precise than the input (Theano's rule)."""
    if is_float(acc) and not is_float(x_dtype):
        return  # a float accumulator for integers or booleans is fine
    if np.promote_types(x_dtype, acc).name != acc:
        raise TypeError(
            f"{name}: acc_dtype={acc!r} cannot hold a {x_dtype} input without losing "
            f"precision; give an accumulator at least as precise as {x_dtype}, or pass "
            f"dtype={acc!r} instead (the reduction is then done precisely and only its "
            f"result is cast), or cast the input yourself")


def reduce_acc(name: str, x, axis=None, keepdims: bool = False, dtype=None,
               acc_dtype=None) -> Variable:
    """``sum``, ``prod`` or ``mean`` accumulated in ``acc_dtype``, returned as ``dtype``.

    The result's dtype is ``dtype`` when given, else the default (integers and
    booleans: int64 or uint64, mean: floatX; floats keep theirs), whatever
    ``acc_dtype`` is (Theano's rule). The accumulator is ``acc_dtype`` when given
    (refused when less precise than the input), else the wider of the default
    and ``dtype``, so that ``dtype=float16`` on a float32 input sums in float32
    and only rounds the result. With neither, this is :func:`reduce`.
    """
    x = as_stacked(x)
    if dtype is None and acc_dtype is None:
        return reduce(name, x, axis, keepdims)
    default = _out_dtype(name, x.dtype, None)
    out = as_dtype(dtype) if dtype is not None else default
    if acc_dtype is None:
        acc = np.promote_types(default, out).name
    else:
        acc = as_dtype(acc_dtype)
        _check_acc(name, x.dtype, acc)
    if name == "mean" and not is_float(acc):
        # an integer accumulator sums exactly (or wraps, as that dtype does); the
        # division by the count is then done in floating point
        total = reduce("sum", cast(x, acc), axis, keepdims, acc)
        axes = normalize_axis(axis, x.ndim, name)
        axes = range(x.ndim) if axes is None else axes
        count = prod(stack([x.shape[a] for a in axes])) if x.ndim else 1
        fdt = out if is_float(out) else "float64"
        r = cast(total, fdt) / cast(count, fdt)
    else:
        r = reduce(name, cast(x, acc), axis, keepdims, acc)
    return cast(r, out)


def expand(v: Variable, axes, ndim: int) -> Variable:
    """Re-insert reduced ``axes`` as broadcastable dimensions."""
    order, k = [], 0
    for a in range(ndim):
        if a in axes:
            order.append("x")
        else:
            order.append(k)
            k += 1
    return dimshuffle(v, order)


def as_stacked(x) -> Variable:
    """``x`` as a variable; a list or tuple holding symbolic variables is stacked along a
    new first axis, as Theano's ``as_tensor_variable`` does (``T.sum([a, b], axis=0)``
    is ``a + b``, ``T.mean([a, b])`` the mean of both)."""
    if isinstance(x, (list, tuple)) and builtins.any(isinstance(v, Variable) for v in x):
        return stack(list(x))
    return as_variable(x)


def reduce(name: str, x, axis=None, keepdims: bool = False, dtype=None) -> Variable:
    x = as_stacked(x)
    axes = normalize_axis(axis, x.ndim, name)
    if axes is not None and len(axes) == x.ndim:
        axes = None if not keepdims else axes
    if x.ndim == 0:
        axes = None
    return Reduce(name, axes, keepdims, dtype)(x)


class ArgReduce(Op):
    """argmax / argmin over one axis (None: over the flattened input)."""

    __props__ = ("name", "axis", "keepdims")

    def __init__(self, name: str, axis, keepdims: bool = False) -> None:
        self.name, self.axis, self.keepdims = name, axis, bool(keepdims)

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        if self.axis is None:
            shape = (1,) * x.ndim if self.keepdims else ()
        else:
            shape = tuple(1 if a == self.axis else s for a, s in enumerate(x.type.shape)
                          if self.keepdims or a != self.axis)
        return Apply(self, [x], [TensorType("int64", shape)])

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def thunk(self, backend, node):
        fn = backend.kernel(self.name)
        astype = backend.kernel("astype")
        axis, keepdims = self.axis, self.keepdims
        return lambda x: astype(fn(x, axis=axis, keepdims=keepdims), "int64")


# -- builders --------------------------------------------------------------------

def sum(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The sum; ``dtype`` is the result's dtype, ``acc_dtype`` the accumulator's
    (see :func:`reduce_acc`)."""
    return reduce_acc("sum", x, axis, keepdims, dtype, acc_dtype)


def prod(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The product; ``dtype`` and ``acc_dtype`` as in :func:`sum`."""
    return reduce_acc("prod", x, axis, keepdims, dtype, acc_dtype)


def mean(x, axis=None, dtype=None, keepdims=False, acc_dtype=None):
    """The mean; of integers or booleans it is floatX unless ``dtype`` says otherwise.
    ``acc_dtype`` is the accumulator's dtype, as in :func:`sum`."""
    return reduce_acc("mean", x, axis, keepdims, dtype, acc_dtype)


def max(x, axis=None, keepdims=False):
    return reduce("max", x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return reduce("min", x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return reduce("any", x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return reduce("all", x, axis, keepdims)


def _arg(name, x, axis, keepdims):
    x = as_stacked(x)          # a list of variables is stacked, as for the other reductions
    axes = normalize_axis(axis, x.ndim, name)
    if axes is not None and len(axes) > 1:
        raise ValueError(f"{name} takes one axis or None, got {axis}")
    return ArgReduce(name, None if axes is None else axes[0], keepdims)(x)


def argmax(x, axis=None, keepdims=False):
    return _arg("argmax", x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg("argmin", x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0, corrected=False):
    x = as_stacked(x)
    centred = x - mean(x, axis=axis, keepdims=True)
    v = mean(sqr(centred), axis=axis, keepdims=keepdims)
    if ddof or corrected:
        d = ddof or 1
        n = prod(shape_of(x)) if axis is None else prod(
            stack([x.shape[a] for a in normalize_axis(axis, x.ndim, "var")]))
        v = v * cast(n, v.dtype) / cast(n - d, v.dtype)
    return v


def std(x, axis=None, keepdims=False, ddof=0, corrected=False):
    return sqrt(var(x, axis, keepdims, ddof, corrected))


def norm(x, L=2, axis=None, keepdims=False):
    if L == 1:
        return sum(abs_(x), axis=axis, keepdims=keepdims)
    if L == 2:
        return sqrt(sum(sqr(x), axis=axis, keepdims=keepdims))
    return pow(sum(pow(abs_(x), L), axis=axis, keepdims=keepdims), 1.0 / L)


def logsumexp(x, axis=None, keepdims=False):
    x = as_variable(x)
    m = disconnected_grad(max(x, axis=axis, keepdims=True))
    out = log(sum(exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        axes = normalize_axis(axis, x.ndim, "logsumexp")
        out = dimshuffle(out, [i for i in range(x.ndim) if axes is not None and i not in axes]
                         if axes is not None else [])
    return out
