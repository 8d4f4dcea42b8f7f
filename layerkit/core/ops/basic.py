"""Casts and gradient blockers."""
from __future__ import annotations

import numpy as np

from ..graph import Apply, Constant, Variable, as_variable
from ..op import Op
from ..types import TensorType, as_dtype, is_float

__all__ = ["Cast", "cast", "GradBlock", "disconnected_grad", "ViewOp"]


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


class GradBlock(ViewOp):
    """Forward identity; the gradient does not flow through (``disconnected_grad``)."""

    def grad(self, inputs, outputs, output_grads):
        return [None]


def disconnected_grad(x) -> Variable:
    """``x`` with its gradient treated as disconnected (Theano's ``disconnected_grad``)."""
    return GradBlock()(x)
