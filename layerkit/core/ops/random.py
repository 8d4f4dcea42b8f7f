"""Random draws: counter-based, so every call of a compiled function gets new
numbers (the counter advances) and a seed replays them exactly."""
from __future__ import annotations

import threading

from ..graph import Apply, as_variable
from ..op import Op
from ..types import TensorType, as_dtype
from .shape import as_shape, static_entries, to_int_tuple

__all__ = ["RandomOp", "RandomState"]


class RandomState:
    """The counter of one random op; shared by every function that uses the op.

    A call holds ``lock`` from reading the counter to advancing it, so calls
    from several threads never draw the same numbers."""

    def __init__(self) -> None:
        self.counter = 0
        self.lock = threading.RLock()

    def __getstate__(self):
        return {"counter": self.counter}

    def __setstate__(self, state) -> None:
        self.counter = state["counter"]
        self.lock = threading.RLock()

    def __repr__(self) -> str:
        return f"RandomState(counter={self.counter})"


class RandomOp(Op):
    """Draw from ``dist`` (uniform, normal, binomial) with constant ``params``."""

    __props__ = ("dist", "key", "dtype", "params")
    pure = False

    def host_input(self, k, node) -> bool:
        return True                        # the shape of the draw

    def __init__(self, dist: str, key: int, dtype: str, params: tuple) -> None:
        self.dist, self.key, self.dtype, self.params = dist, key, as_dtype(dtype), tuple(params)
        self.state = RandomState()

    def __repr__(self) -> str:
        return f"random_{self.dist}{{key={self.key:#x}}}"

    def make_node(self, shape) -> Apply:
        shape = as_shape(shape)
        return Apply(self, [shape], [TensorType(self.dtype, static_entries(shape))])

    def grad(self, inputs, outputs, output_grads):
        return [None]

    def thunk(self, backend, node):
        fn = backend.kernel(f"random_{self.dist}")
        key, dtype, params, state, xp = self.key, self.dtype, dict(self.params), self.state, backend.xp
        return lambda shape: fn(key, state.counter, to_int_tuple(backend, shape), dtype,
                                xp=xp, **params)
