"""Reductions: sum, prod, max, min, mean, any, all, argmax, argmin."""
from __future__ import annotations

import numpy as np

from ..config import config
from ..graph import Apply, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, is_float

__all__ = ["Reduce", "ArgReduce", "reduce", "reduce_acc", "sum_to", "normalize_axis"]


def normalize_axis(axis, ndim: int, opname: str) -> tuple[int, ...] | None:
    """``axis`` (None, an int or ints, negatives allowed) as a sorted tuple, None for all."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, Variable):
            from ..graph import Constant
            if not isinstance(a, Constant):
                raise TypeError(f"{opname}: axis must be known at build time, got a symbolic {a}")
            a = int(a.data)
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise ShapeError(f"{opname}: axis {a} is out of range for a {ndim}-d input")
        out.append(a % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"{opname}: repeated axis in {axis}")
    return tuple(sorted(out))


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
        from .basic import cast
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
        from ..tensor import basic as T
        x, z, g = inputs[0], outputs[0], output_grads[0]
        if not is_float(x.dtype) or self.name in ("any", "all"):
            return [None]
        axes = tuple(range(x.ndim)) if self.axis is None else self.axis
        if not self.keepdims:
            g, z = expand(g, axes, x.ndim), expand(z, axes, x.ndim)
        if self.name == "sum":
            gx = T.alloc(g, *[x.shape[i] for i in range(x.ndim)]) if x.ndim else g
        elif self.name == "mean":
            count = T.prod(T.stack([x.shape[a] for a in axes])) if axes else 1
            gx = T.alloc(g / T.cast(count, g.dtype), *[x.shape[i] for i in range(x.ndim)]) \
                if x.ndim else g
        elif self.name in ("max", "min"):
            # Theano's rule: the gradient goes to every element equal to the extremum
            gx = g * T.eq(x, z)
        elif self.name == "prod":
            gx = g * z / x
        else:
            return [None]
        return [T.cast(gx, x.dtype)]

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
    from ..types import as_dtype
    from .basic import cast
    x = as_variable(x)
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
        from ..tensor import basic as T
        total = reduce("sum", cast(x, acc), axis, keepdims, acc)
        axes = normalize_axis(axis, x.ndim, name)
        axes = range(x.ndim) if axes is None else axes
        count = T.prod(T.stack([x.shape[a] for a in axes])) if x.ndim else 1
        fdt = out if is_float(out) else "float64"
        r = cast(total, fdt) / cast(count, fdt)
    else:
        r = reduce(name, cast(x, acc), axis, keepdims, acc)
    return cast(r, out)


def expand(v: Variable, axes, ndim: int) -> Variable:
    """Re-insert reduced ``axes`` as broadcastable dimensions."""
    from .shape import dimshuffle
    order, k = [], 0
    for a in range(ndim):
        if a in axes:
            order.append("x")
        else:
            order.append(k)
            k += 1
    return dimshuffle(v, order)


def reduce(name: str, x, axis=None, keepdims: bool = False, dtype=None) -> Variable:
    x = as_variable(x)
    axes = normalize_axis(axis, x.ndim, name)
    if axes is not None and len(axes) == x.ndim:
        axes = None if not keepdims else axes
    if x.ndim == 0:
        axes = None
    return Reduce(name, axes, keepdims, dtype)(x)


def sum_to(g: Variable, type: TensorType) -> Variable:
    """Sum ``g`` over the dimensions that ``type`` broadcast (a gradient's shape fix-up)."""
    if g.ndim > type.ndim:
        g = reduce("sum", g, axis=tuple(range(g.ndim - type.ndim)))
    axes = tuple(a for a, (s, gs) in enumerate(zip(type.shape, g.type.shape)) if s == 1 and gs != 1)
    if axes:
        g = Reduce("sum", axes, True, None)(g)
    return g


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
