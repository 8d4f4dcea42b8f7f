"""Random draws: counter-based, so every call of a compiled function gets new
numbers (the counter advances) and a seed replays them exactly.

Inside a ``scan`` loop a draw takes a second input, the *salt*: an int64 that
the loop computes from its call counter and its step number
(:func:`salt`). The draw is then a pure function of (key, salt), so each step
draws anew, each call of the function too, and the gradient's backward loop,
which recomputes the step, sees the very numbers the forward loop drew.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np

from ..graph import Apply, as_variable
from ..op import Op
from ..types import TensorType, as_dtype
from .basic import cast
from .shape import as_shape, static_entries, to_int_tuple

__all__ = ["RandomOp", "RandomState", "ReadCounter", "Salt", "salt", "created_draws"]


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
        for found in _CREATED.stack[-1:]:
            found.append(self)                 # built inside a scan step function

    def __repr__(self) -> str:
        return f"random_{self.dist}{{key={self.key:#x}}}"

    def make_node(self, shape, salt=None) -> Apply:
        """``salt`` (an int64 scalar) given: the draw of a scan step, keyed by it
        instead of the op's call counter."""
        shape = as_shape(shape)
        inputs = [shape] if salt is None else [shape, cast(as_variable(salt), "int64")]
        return Apply(self, inputs, [TensorType(self.dtype, static_entries(shape))])

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)

    def thunk(self, backend, node):
        fn = backend.kernel(f"random_{self.dist}")
        key, dtype, params, state, xp = self.key, self.dtype, dict(self.params), self.state, backend.xp
        if len(node.inputs) == 2:
            return lambda shape, salt: fn(key, int(salt), to_int_tuple(backend, shape), dtype,
                                          xp=xp, **params)
        return lambda shape: fn(key, state.counter, to_int_tuple(backend, shape), dtype,
                                xp=xp, **params)


class _Created(threading.local):
    def __init__(self) -> None:
        self.stack: list[list[RandomOp]] = []


_CREATED = _Created()


@contextmanager
def created_draws():
    """Collect the random ops built in this block (by this thread): a scan step
    function's own draws, which must differ from step to step."""
    found: list[RandomOp] = []
    _CREATED.stack.append(found)
    try:
        yield found
    finally:
        _CREATED.stack.pop()


_M63 = (1 << 63) - 1


def _mix(a: int, b: int) -> int:
    """splitmix64's finaliser over (a, b): distinct pairs give unrelated salts."""
    z = ((a & _M63) * 0x9E3779B97F4A7C15 + (b + 1) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
    return (z ^ (z >> 31)) & _M63


class ReadCounter(Op):
    """The call counter of a random stream, as an int64 scalar: what a scan's
    draws are salted with (a call reads it, and advances it when it succeeds)."""

    pure = False
    foldable = False
    host = True

    def __init__(self) -> None:
        self.state = RandomState()

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def make_node(self) -> Apply:
        return Apply(self, [], [TensorType("int64", ())])

    def grad(self, inputs, outputs, output_grads):
        return []

    def thunk(self, backend, node):
        state = self.state
        return lambda: np.array(state.counter, dtype=np.int64)


class Salt(Op):
    """``salt(outer, step)``: the salt of one scan step, from the loop's own salt
    (its call counter, or the enclosing loop's step salt) and its step number."""

    host = True

    def host_input(self, k, node) -> bool:
        return True

    def make_node(self, outer, step) -> Apply:
        return Apply(self, [cast(as_variable(outer), "int64"), cast(as_variable(step), "int64")],
                     [TensorType("int64", ())])

    def grad(self, inputs, outputs, output_grads):
        return [None, None]

    def thunk(self, backend, node):
        return lambda outer, step: np.array(_mix(int(outer), int(step)), dtype=np.int64)


salt = Salt()
