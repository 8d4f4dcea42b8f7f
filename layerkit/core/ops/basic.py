"""What every op module uses: casts, numpy's dtype promotion, gradient blockers,
and the check of a pair of sizes. The other op modules import this one; it
imports none of them."""
from __future__ import annotations

import numbers

import numpy as np

from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op, ShapeError
from ..types import TensorType, as_dtype, is_float

__all__ = ["Cast", "cast", "GradBlock", "disconnected_grad", "ViewOp", "result_dtype",
           "positive_pair", "int_pair", "constant", "Assert", "assert_op", "normalize_axis"]


def constant(x, name=None, dtype=None) -> Variable:
    """Theano's ``T.constant``: ``x`` as a constant variable."""
    return as_variable(x, dtype=dtype, name=name)


def result_dtype(inputs: list[Variable]) -> str:
    """numpy 2's promotion, with Python scalars (weak constants) as numpy treats them."""
    strong = [v.dtype for v in inputs if not (isinstance(v, Constant) and v.weak is not None)]
    weak = [v.weak for v in inputs if isinstance(v, Constant) and v.weak is not None]
    if not strong:
        return np.result_type(*[v.data for v in inputs]).name
    return np.result_type(*strong, *weak).name


def int_pair(v, what: str, fn: str) -> tuple[int, int]:
    """``v`` (an int or two) as a pair of ints; a fractional size is refused, not
    truncated (``int(1.5)`` would silently stride by 1)."""
    items = (v, v) if isinstance(v, numbers.Number) else tuple(v)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or int(a) != a:
            raise ValueError(f"{fn}: {what} must be an int or a pair of ints, got {v!r}")
        out.append(int(a))
    if len(out) != 2:
        raise ValueError(f"{fn}: {what} must be an int or a pair of ints, got {v!r}")
    return tuple(out)


def positive_pair(fn: str, what: str, pair, minimum: int = 1) -> None:
    """Refuse a size pair that is not two ints >= ``minimum`` (naming the parameter)."""
    if len(pair) != 2 or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                 for v in pair) or any(v < minimum for v in pair):
        raise ValueError(f"{fn}: {what} must be a pair of ints >= {minimum}, got {pair}")


class Cast(Op):
    """Convert to ``dtype`` (numpy's ``astype``)."""

    __props__ = ("dtype",)

    def __init__(self, dtype: str) -> None:
        self.dtype = as_dtype(dtype)

    def __repr__(self) -> str:
        return f"Cast{{{self.dtype}}}"

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        return Apply(self, [x], [TensorType(self.dtype, x.type.shape)])

    def grad(self, inputs, outputs, output_grads):
        (x,) = inputs
        if not (is_float(x.dtype) and is_float(self.dtype)):
            return [None]
        return [cast(output_grads[0], x.dtype)]

    def thunk(self, backend, node):
        fn = backend.kernel("astype")
        dtype = self.dtype
        return lambda x: fn(x, dtype)


def cast(x, dtype) -> Variable:
    """``x`` as ``dtype``; constants are converted at once, same dtype is a no-op."""
    x = as_variable(x)
    dtype = as_dtype(dtype)
    if x.dtype == dtype:
        return x
    if isinstance(x, Constant):
        # a Python scalar keeps its full value: 0.7 cast to float64 is 0.7, not float32(0.7)
        data = np.asarray(x.weak if x.weak is not None else x.data, dtype=dtype)
        return Constant(TensorType(dtype, x.type.shape), data, name=x.name)
    return Cast(dtype)(x)


class ViewOp(Op):
    """The identity, as a node of its own (a base for gradient blockers)."""

    view_map = {0: [0]}

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        return Apply(self, [x], [x.type])

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]

    def thunk(self, backend, node):
        return lambda x: x


_ERRORS = {"ValueError": ValueError, "IndexError": IndexError}


class Assert(Op):
    """``x`` itself once every condition input holds everywhere; otherwise the call
    raises ``error`` with ``message`` (Theano's ``Assert``). For checks that only
    the run-time values can decide (a length, a range), so that a builder refuses
    bad input instead of computing a wrong number."""

    __props__ = ("message", "error")
    view_map = {0: [0]}

    def __init__(self, message: str, error: str = "ValueError") -> None:
        if error not in _ERRORS:
            raise ValueError(f"Assert: error must be one of {sorted(_ERRORS)}, got {error!r}")
        self.message, self.error = message, error

    def make_node(self, x, *conditions) -> Apply:
        x = as_variable(x)
        return Apply(self, [x] + [as_variable(c) for c in conditions], [x.type])

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]] + [None] * (len(inputs) - 1)

    def thunk(self, backend, node):
        message, error, xp = self.message, _ERRORS[self.error], backend.xp

        def check(x, *conditions):
            for c in conditions:
                host = isinstance(c, (np.ndarray, np.generic, bool, numbers.Integral))
                if not bool(np.all(c) if host else xp.all(c)):
                    raise error(message)
            return x
        return check


def assert_op(x, *conditions, message: str, error: str = "ValueError") -> Variable:
    """``x``, checked at run time: every condition (a bool scalar or array) must hold."""
    return Assert(message, error)(x, *conditions)


class GradBlock(ViewOp):
    """Forward identity; the gradient does not flow through (``disconnected_grad``)."""

    def grad(self, inputs, outputs, output_grads):
        return [None]


def disconnected_grad(x) -> Variable:
    """``x`` with its gradient treated as disconnected (Theano's ``disconnected_grad``)."""
    return GradBlock()(x)


def normalize_axis(axis, ndim: int, opname: str) -> tuple[int, ...] | None:
    """``axis`` (None, an int or ints, negatives allowed) as a sorted tuple, None for all."""
    if axis is None:
        return None
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if isinstance(a, Variable):
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
