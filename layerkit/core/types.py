"""Tensor types: a dtype and a static shape whose entries may be unknown.

Broadcasting follows Theano: only a dimension known at build time to be 1
broadcasts, so ``broadcastable`` is derived from the static shape.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .config import config

__all__ = ["TensorType", "as_dtype", "upcast", "is_float", "is_int", "DTYPES"]

DTYPES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
    "uint64", "float16", "float32", "float64", "complex64", "complex128",
)

_NAMES = frozenset(DTYPES)


def as_dtype(dtype) -> str:
    """Normalise a dtype given as a string, numpy dtype or type, ``floatX`` included."""
    if dtype is None or dtype == "floatX":
        return config.floatX
    if type(dtype) is str and dtype in _NAMES:
        return dtype                  # already a name: the common case, ~0.1 us
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"unsupported dtype {name!r}; expected one of {', '.join(DTYPES)}")
    return name


def upcast(*dtypes: str) -> str:
    """The numpy-2 result dtype of several dtypes (no weak scalars here)."""
    return np.result_type(*dtypes).name


def is_float(dtype: str) -> bool:
    return dtype.startswith(("float", "complex"))


def is_int(dtype: str) -> bool:
    return dtype.startswith(("int", "uint"))


class TensorType:
    """The type of a tensor variable: ``dtype`` and a static ``shape`` (ints or None)."""

    __slots__ = ("dtype", "shape")

    def __init__(self, dtype, shape: Sequence[int | None] | None = None,
                 broadcastable: Iterable[bool] | None = None) -> None:
        self.dtype = as_dtype(dtype)
        if shape is not None and broadcastable is None and len(tuple(shape)) > 0 and \
                all(isinstance(s, (bool, np.bool_)) for s in shape):
            # Theano's TensorType(dtype, broadcastable): a pattern of bools, not sizes
            shape, broadcastable = None, shape
        if shape is None:
            if broadcastable is None:
                raise TypeError("TensorType needs a shape or a broadcastable pattern")
            shape = tuple(1 if b else None for b in broadcastable)
        checked = []
        for s in shape:
            if s is not None:
                if isinstance(s, (bool, np.bool_)) or not isinstance(s, (int, np.integer)) or s < 0:
                    raise TypeError(f"static shape entries must be None or ints >= 0, got {tuple(shape)}")
                s = int(s)
            checked.append(s)
        self.shape = tuple(checked)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def broadcastable(self) -> tuple[bool, ...]:
        return tuple(s == 1 for s in self.shape)

    def __eq__(self, other) -> bool:
        return type(other) is TensorType and (self.dtype, self.shape) == (other.dtype, other.shape)

    def __hash__(self) -> int:
        return hash((self.dtype, self.shape))

    def __getstate__(self):
        return (self.dtype, self.shape)

    def __setstate__(self, state) -> None:
        self.dtype, self.shape = state

    def __repr__(self) -> str:
        return f"TensorType({self.dtype}, shape={self.shape})"

    #: the class of the variables :meth:`__call__` makes: :class:`layerkit.core.graph.Variable`,
    #: set by that module (which imports this one, so this one cannot import it)
    variable_class: type | None = None

    def __call__(self, name: str | None = None):
        """Make a new input variable of this type (Theano's ``T.TensorType(...)(name)``)."""
        return self.variable_class(self, name=name)

    def with_dtype(self, dtype) -> "TensorType":
        return TensorType(dtype, self.shape)

    def compatible(self, other: "TensorType") -> bool:
        """True when a value of ``other`` fits this type (same dtype and rank, sizes agree)."""
        return (self.dtype == other.dtype and self.ndim == other.ndim
                and all(a is None or b is None or a == b for a, b in zip(self.shape, other.shape)))
