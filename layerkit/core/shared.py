"""Shared variables: state that compiled functions read and update.

A value is held as numpy until a compiled function first uses it; it then
lives on that function's backend, and a function of another backend moves it.
"""
from __future__ import annotations

import threading

import numpy as np

from .config import config
from .errors import dtype_name
from .graph import Variable
from .ignored import warn_ignored
from .types import TensorType, as_dtype

__all__ = ["SharedVariable", "AliasedShared", "shared"]


def _writeable(x) -> bool:
    flags = getattr(x, "flags", None)
    return bool(getattr(flags, "writeable", True))


def _copy_on(backend, x):
    """A new array of ``backend`` holding the values of its array ``x`` (never a view)."""
    if type(x) is np.ndarray or isinstance(x, np.generic):
        return np.array(x, copy=True)
    try:
        return backend.xp.asarray(x, copy=True)       # the array API's way
    except (TypeError, ValueError, NotImplementedError):
        pass                                          # a namespace without ``copy=``
    if callable(getattr(x, "copy", None)):
        return x.copy()
    return backend.from_numpy(np.array(backend.to_numpy(x), copy=True))


def _cast_on(backend, x, dtype):
    """``x`` (an array of ``backend``) cast to ``dtype``: a new array."""
    astype = getattr(backend.xp, "astype", None)
    if astype is not None:
        try:
            return astype(x, np.dtype(dtype).type, copy=True)
        except (TypeError, ValueError, AttributeError):
            pass
    return x.astype(dtype)


def _lossless(host: np.ndarray, converted: np.ndarray) -> bool:
    """True when ``converted`` holds exactly the values of ``host`` (NaN equals NaN)."""
    with np.errstate(all="ignore"):
        back = converted.astype(host.dtype)
        same = back == host
        if host.dtype.kind in "fc":
            same |= np.isnan(host) & np.isnan(back)
    return bool(np.all(same))


class SharedVariable(Variable):
    """A variable holding a value between calls (Theano's ``theano.shared``).

    Ownership of the value (Theano's rules):

    * ``set_value(v)`` and ``shared(v)`` (``borrow=False``, the default) always
      store a copy, whatever ``v`` is (a numpy array, a numpy scalar, an array of
      the backend the variable lives on): later writes to ``v`` do not change the
      variable, and training (which updates the value in place) never writes
      into ``v``.
    * ``borrow=True`` keeps the very array where it can (a writeable numpy
      array, or an array of the variable's backend), as Theano did on the CPU:
      the variable and the caller then share storage, so in-place training
      changes the caller's array and the caller's writes change the variable.
      A read-only array (``np.load(mmap_mode="r")``, ``a.setflags(write=False)``)
      is copied even then, since in-place updates could not write to it.
    * ``get_value()`` returns a copy; ``get_value(borrow=True)`` may return the
      stored array itself; ``get_value(return_internal_type=True)`` returns the
      backend's array, a copy of it unless ``borrow=True``.

    Dtypes (``strict`` and ``allow_downcast`` are given to :func:`shared`):

    * ``strict=True``: ``set_value`` takes only an array (or numpy scalar) of
      exactly the variable's dtype; nothing is cast.
    * ``allow_downcast=True``: any numeric value is cast to the dtype, losing
      precision if need be (a float64 array into a float32 variable).
    * ``allow_downcast=None`` (the default): an array must have the dtype; a
      Python number, a list or a numpy scalar is cast when numpy calls the
      cast ``same_kind`` (0.1 into float32, but not 0.5 into an int variable).
    * ``allow_downcast=False``: as the default, but a number, list or numpy
      scalar is cast only when no value changes (0.5 into float32 is taken,
      0.1 is refused).
    """

    #: read by set_value; class defaults keep variables pickled before they existed working
    strict: bool = False
    allow_downcast: bool | None = None

    def __init__(self, value: np.ndarray, name: str | None = None,
                 broadcastable=None, strict: bool = False, allow_downcast=None) -> None:
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
        if allow_downcast not in (None, True, False):
            raise TypeError(f"shared {name or ''}: allow_downcast must be None, True or False, "
                            f"got {allow_downcast!r}")
        super().__init__(TensorType(value.dtype, broadcastable=broadcastable), name=name)
        self._value = value
        self._backend = None          # None: held as numpy
        self.default_update = None
        self.strict = bool(strict)
        self.allow_downcast = allow_downcast

    # -- value access ----------------------------------------------------
    def get_value(self, borrow: bool = False, return_internal_type: bool = False):
        """The value as a numpy array: a copy unless ``borrow`` (see the class notes).

        ``return_internal_type=True`` gives the array of the backend the value
        lives on (a copy of it unless ``borrow``). Taken between two calls of
        compiled functions running in other threads, never during one.
        """
        with storage_lock(self):
            return self._read(borrow, return_internal_type)

    def set_value(self, value, borrow: bool = False) -> None:
        """Replace the value; dtype and number of dimensions must match (sizes may change).

        ``borrow=False`` stores a copy, always; ``borrow=True`` may keep
        ``value`` itself (see the class notes). Dtype rules: see the class notes.
        Made between two calls of compiled functions running in other threads.
        """
        with storage_lock(self):
            self._write(value, borrow)

    def _read(self, borrow: bool, return_internal_type: bool):
        if self._backend is None:
            return self._value if borrow else np.array(self._value, copy=True)
        if return_internal_type:
            return self._value if borrow else _copy_on(self._backend, self._value)
        return np.array(self._backend.to_numpy(self._value), copy=True)

    def _refuse(self, message: str):
        raise TypeError(f"shared variable {self.name or ''}: {message}")

    def _cast_needed(self, src_dtype: str, typed: bool, host) -> bool:
        """Whether a value of ``src_dtype`` is cast to the variable's dtype; raises if refused.

        ``typed``: the value is an array (numpy or the backend's), whose dtype
        is the caller's choice; ``host``: the value as numpy when it is not.
        """
        if src_dtype == self.dtype:
            return False
        if self.strict:
            self._refuse(f"set_value expected dtype {self.dtype}, got {src_dtype} (the "
                         f"variable was made with strict=True: nothing is cast)")
        if self.allow_downcast:
            if np.dtype(src_dtype).kind not in "biufc":
                self._refuse(f"set_value cannot cast a {src_dtype} value to {self.dtype}")
            return True
        if typed:
            self._refuse(f"set_value expected dtype {self.dtype}, got {src_dtype} (cast it "
                         f"with .astype('{self.dtype}'), or make the variable with "
                         f"shared(..., allow_downcast=True))")
        if not np.can_cast(host.dtype, self.dtype, "same_kind"):
            self._refuse(f"set_value expected dtype {self.dtype}, got {src_dtype}")
        if self.allow_downcast is False and not np.can_cast(host.dtype, self.dtype, "safe") \
                and not _lossless(host, host.astype(self.dtype)):
            self._refuse(f"set_value: the value does not fit dtype {self.dtype} without "
                         f"losing precision, and the variable was made with "
                         f"allow_downcast=False")
        return True

    def _write(self, value, borrow: bool) -> None:
        if isinstance(value, Variable):
            self._refuse(f"set_value expects a value, got the symbolic variable {value}")
        if self.strict and not isinstance(value, (np.ndarray, np.generic)) and \
                not (self._backend is not None and self._backend.is_array(value)):
            self._refuse(f"set_value expected an array of dtype {self.dtype}, got "
                         f"{type(value).__name__} (the variable was made with strict=True)")
        backend = self._backend
        # a numpy scalar is a value, not storage: it becomes a 0-d array below
        if backend is not None and not isinstance(value, np.generic) and \
                backend.is_array(value):
            arr_dtype = dtype_name(value.dtype)
            arr_ndim, arr_shape = value.ndim, tuple(value.shape)
            cast = self._cast_needed(arr_dtype, True, None)
            host = None
        else:
            host = np.asarray(value)
            arr_dtype, arr_ndim, arr_shape = host.dtype.name, host.ndim, host.shape
            cast = self._cast_needed(arr_dtype, isinstance(value, np.ndarray), host)
        if arr_ndim != self.ndim:
            raise TypeError(f"shared variable {self.name or ''}: set_value expected a "
                            f"{self.ndim}-d value, got {arr_ndim}-d (shape {arr_shape})")
        for ax, b in enumerate(self.broadcastable):
            if b and arr_shape[ax] != 1:
                raise ValueError(f"shared variable {self.name or ''}: dimension {ax} is "
                                 f"broadcastable but the new value has size {arr_shape[ax]}")
        if host is None:
            if cast:
                value = _cast_on(backend, value, self.dtype)
            elif not borrow or not _writeable(value):
                value = _copy_on(backend, value)
            self._value = value
            return
        if cast:
            host = host.astype(self.dtype)
        elif not borrow or not host.flags.writeable:
            host = np.array(host, copy=True)
        self._value = host
        self._backend = None

    def value_on(self, backend):
        """The value as an array of ``backend``, moving it there if needed.

        The first move of a value held as numpy may keep that very array (the
        numpy backend does): it is the variable's own copy, or the caller's
        array when it was given with ``borrow=True``.
        """
        if self._backend is not backend:
            host = self._value if self._backend is None else \
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
        state.pop("_lock", None)        # a fresh one is made where it is needed
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

    # the target's dtype rules apply to values set through the alias
    strict = property(lambda self: self.target.strict)
    allow_downcast = property(lambda self: self.target.allow_downcast)

    def get_value(self, borrow=False, return_internal_type=False):
        return self.target.get_value(borrow, return_internal_type)

    def set_value(self, value, borrow=False):
        self.target.set_value(value, borrow)

    def value_on(self, backend):
        return self.target.value_on(backend)

    def _store(self, value, backend):
        self.target._store(value, backend)

    def __getstate__(self):
        # the value is the target's (pickled with it): no second copy of it here
        return self.__dict__.copy()


def storage_of(v):
    """The variable whose storage ``v`` uses (a memory-aliased clone's target)."""
    while isinstance(v, AliasedShared):
        v = v.target
    return v


def storage_lock(v: SharedVariable) -> threading.RLock:
    """The lock of ``v``'s storage (a memory-aliased clone has its target's): a
    compiled call holds it while it reads and writes the value, and so do
    ``get_value`` and ``set_value``, so that calls from several threads act as
    if they ran one after another."""
    v = storage_of(v)
    lock = v.__dict__.get("_lock")
    if lock is None:                   # dict.setdefault is atomic: one lock per storage
        lock = v.__dict__.setdefault("_lock", threading.RLock())
    return lock


def shared(value, name: str | None = None, borrow: bool = False, strict: bool = False,
           allow_downcast=None, broadcastable=None, **kwargs) -> SharedVariable:
    """A new shared variable holding ``value``.

    A Python float becomes floatX; arrays keep their dtype. The variable holds
    a copy of ``value`` unless ``borrow=True``, which keeps the very array (as
    Theano did on the CPU: in-place training then writes into it) unless it
    is read-only, which is copied. ``strict`` and ``allow_downcast`` set what
    later :meth:`~SharedVariable.set_value` calls may cast (see
    :class:`SharedVariable`).
    """
    if isinstance(value, Variable):
        raise TypeError(f"shared() expects a value, got the symbolic variable {value}")
    for key in kwargs:          # Theano's target=, ... (a device placement here is the backend's)
        warn_ignored("shared", key, "layerkit places values on the backend of the function "
                     "that uses them")
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
        if not borrow or arr is not value or not arr.flags.writeable:
            arr = np.array(arr, copy=True)
    return SharedVariable(arr, name=name, broadcastable=broadcastable, strict=strict,
                          allow_downcast=allow_downcast)
