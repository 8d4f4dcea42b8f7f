"""Softmax and log-softmax over the last axis."""
from __future__ import annotations

from ..config import config
from ..graph import Apply, as_variable
from ..op import Op
from ..types import TensorType, is_float
from .basic import cast

__all__ = ["Softmax", "LogSoftmax", "softmax", "log_softmax"]


class _LastAxisOp(Op):
    kernel = ""

    def make_node(self, x) -> Apply:
        x = as_variable(x)
        if not is_float(x.dtype):
            x = cast(x, config.floatX)
        if x.ndim == 0:
            raise ValueError(f"{type(self).__name__.lower()} needs at least a 1-d input")
        return Apply(self, [x], [x.type])

    def thunk(self, backend, node):
        return backend.kernel(self.kernel)


class Softmax(_LastAxisOp):
    kernel = "softmax"

    def grad(self, inputs, outputs, output_grads):
        sm, g = outputs[0], output_grads[0]
        gs = g * sm
        return [gs - sm * gs.sum(axis=-1, keepdims=True)]


class LogSoftmax(_LastAxisOp):
    kernel = "log_softmax"

    def grad(self, inputs, outputs, output_grads):
        from ..tensor import basic as T
        lsm, g = outputs[0], output_grads[0]
        return [g - T.exp(lsm) * g.sum(axis=-1, keepdims=True)]


def softmax(x):
    return Softmax()(x)


def log_softmax(x):
    return LogSoftmax()(x)
