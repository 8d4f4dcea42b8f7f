"""Shared variables: state that compiled functions read and update.

A value is held as numpy until a compiled function first uses it; it then
lives on that function's backend, and a function of another backend moves it.
"""
from __future__ import annotations

import numpy as np

from .config import config
from .graph import Variable
from .types import TensorType, as_dtype

__all__ = ["SharedVariable", "AliasedShared", "shared"]


class SharedVariable(Variable):
    """A variable holding a value between calls (Theano's ``theano.shared``)."""

    def __init__(self, value: np.ndarray, name: str | None = None,
                 broadcastable=None) -> None:
        if broadcastable is None:
            broadcastable = (False,) * value.ndim
        broadcastable = tuple(bool(b) for b in broadcastable)
        if len(broadcastable) != value.ndim:
            raise ValueError(f"shared {name or ''}: broadcastable {broadcastable} has "
                             f"{len(broadcastable)} entries for a {value.ndim}-d value")
        for ax, b in enumerate(broadcastable):
            if b and value.shape[ax] != 1:
                raise ValueError(f"shared {name or ''}: dimension {ax} is marked broadcastable "
                                 f"but has size {value.shape[ax]}")
        super().__init__(TensorType(value.dtype, broadcastable=broadcastable), name=name)
        self._value = value
        self._backend = None          # None: held as numpy
        self.default_update = None

    # -- value access ----------------------------------------------------
    def get_value(self, borrow: bool = False, return_internal_type: bool = False):
        """The value as a numpy array (a copy unless ``borrow`` and held as numpy)."""
        if self._backend is None:
            return self._value if borrow else self._value.copy()
        if return_internal_type:
            return self._value
        return np.array(self._backend.to_numpy(self._value), copy=True)

    def set_value(self, value, borrow: bool = False) -> None:
        """Replace the value; dtype and number of dimensions must match (sizes may change)."""
        if self._backend is not None and self._backend.is_array(value):
            arr_dtype, arr_ndim, arr_shape = str(value.dtype), value.ndim, value.shape
            host = None
        else:
            host = np.asarray(value)
            arr_dtype, arr_ndim, arr_shape = host.dtype.name, host.ndim, host.shape
        if arr_dtype != self.dtype:
            if host is not None and np.can_cast(host.dtype, self.dtype, "same_kind") and \
                    not isinstance(value, np.ndarray):
                host = host.astype(self.dtype)
            else:
                raise TypeError(f"shared variable {self.name or ''}: set_value expected dtype "
                                f"{self.dtype}, got {arr_dtype}")
        if arr_ndim != self.ndim:
            raise TypeError(f"shared variable {self.name or ''}: set_value expected a "
                            f"{self.ndim}-d value, got {arr_ndim}-d (shape {arr_shape})")
        for ax, b in enumerate(self.broadcastable):
            if b and arr_shape[ax] != 1:
                raise ValueError(f"shared variable {self.name or ''}: dimension {ax} is "
                                 f"broadcastable but the new value has size {arr_shape[ax]}")
        if host is None:
            self._value = value
            return
        self._value = host if borrow else host.copy()
        self._backend = None

    def value_on(self, backend):
        """The value as an array of ``backend``, moving it there if needed."""
        if self._backend is not backend:
            host = self.get_value(borrow=True) if self._backend is None else \
                self._backend.to_numpy(self._value)
            self._value = backend.from_numpy(np.asarray(host, order="C"))
            self._backend = backend
        return self._value

    def alias(self) -> "AliasedShared":
        """Another graph variable over this one's storage (see :class:`AliasedShared`)."""
        return AliasedShared(self)

    def _store(self, value, backend) -> None:
        """Set the value computed by a compiled function (already the right dtype)."""
        self._value = value
        self._backend = backend

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_value"] = self.get_value()
        state["_backend"] = None
        return state

    def __repr__(self) -> str:
        return self.name or f"<shared {self.dtype} {self.ndim}-d>"


class AliasedShared(SharedVariable):
    """A second graph variable over the storage of ``target`` (Theano's
    memory-aliased clone, ``clone(shared, share_inputs=False)``).

    It can carry a ``default_update`` of its own, so a training function that
    reaches it updates ``target``, while functions that read ``target`` itself
    (evaluation) leave it alone.
    """

    def __init__(self, target: SharedVariable) -> None:
        Variable.__init__(self, target.type, name=target.name)
        self.target = target
        self.default_update = None

    def get_value(self, borrow=False, return_internal_type=False):
        return self.target.get_value(borrow, return_internal_type)

    def set_value(self, value, borrow=False):
        self.target.set_value(value, borrow)

    def value_on(self, backend):
        return self.target.value_on(backend)

    def _store(self, value, backend):
        self.target._store(value, backend)


def shared(value, name: str | None = None, borrow: bool = False, strict: bool = False,
           allow_downcast=None, broadcastable=None, **kwargs) -> SharedVariable:
    """A new shared variable holding ``value``.

    A Python float becomes floatX; arrays keep their dtype (``borrow=True``
    keeps the very array, as Theano did on the CPU).
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() expects a value, got the symbolic variable {value}")
    if isinstance(value, float):
        arr = np.asarray(value, dtype=config.floatX)
    elif isinstance(value, bool):
        arr = np.asarray(value)
    elif isinstance(value, int):
        arr = np.asarray(value, dtype="int64")
    else:
        if hasattr(value, "__dlpack__") and not isinstance(value, np.ndarray):
            value = np.from_dlpack(value)
        arr = np.asarray(value)
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(f"shared() expects a numeric value, got {type(value).__name__}")
        as_dtype(arr.dtype)
        if not borrow or arr is not value:
            arr = np.array(arr, copy=True)
    return SharedVariable(arr, name=name, broadcastable=broadcastable)
