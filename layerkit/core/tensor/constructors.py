"""Symbolic input constructors: ``scalar vector matrix tensor3 tensor4`` with
Theano's dtype prefixes (``fmatrix``, ``ivector``, ``lscalar`` ...)."""
from __future__ import annotations

from ..graph import Variable
from ..types import TensorType, as_dtype

__all__ = ["tensor", "scalar", "vector", "matrix", "row", "col", "tensor3", "tensor4",
           "tensor5", "TensorType"]

_PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32",
             "d": "float64", "c": "complex64", "z": "complex128"}
_RANKS = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False),
          "col": (False, True), "tensor3": (False,) * 3, "tensor4": (False,) * 4,
          "tensor5": (False,) * 5}


def tensor(dtype=None, broadcastable=None, name=None, shape=None) -> Variable:
    """A new input of any rank: ``tensor('float32', (False, True))`` or ``shape=(None, 3)``."""
    if isinstance(dtype, str) and name is None and broadcastable is None and shape is None \
            and dtype not in ("floatX",) and not _is_dtype(dtype):
        dtype, name = None, dtype  # tensor('x') with floatX: not Theano, but friendly
    if shape is not None:
        return Variable(TensorType(as_dtype(dtype), shape), name=name)
    if broadcastable is None:
        raise TypeError("tensor() needs broadcastable= (a tuple of bools) or shape=")
    return Variable(TensorType(as_dtype(dtype), broadcastable=broadcastable), name=name)


def _is_dtype(s: str) -> bool:
    try:
        as_dtype(s)
        return True
    except TypeError:
        return False


def _constructor(kind: str, fixed_dtype: str | None):
    bcast = _RANKS[kind]

    def make(name: str | None = None, dtype=None, shape=None) -> Variable:
        dt = as_dtype(fixed_dtype or dtype)
        if shape is not None:
            if len(shape) != len(bcast):
                raise ValueError(f"{kind}: shape {shape} has {len(shape)} dims, expected {len(bcast)}")
            return Variable(TensorType(dt, shape), name=name)
        return Variable(TensorType(dt, broadcastable=bcast), name=name)
    make.__name__ = (fixed_dtype and _prefix_of(fixed_dtype) or "") + kind
    make.__doc__ = f"A new symbolic {kind} ({fixed_dtype or 'floatX unless dtype= is given'})."
    return make


def _prefix_of(dtype: str) -> str:
    return next(p for p, d in _PREFIXES.items() if d == dtype)


for _kind in _RANKS:
    globals()[_kind] = _constructor(_kind, None)
    for _p, _d in _PREFIXES.items():
        globals()[_p + _kind] = _constructor(_kind, _d)
        __all__.append(_p + _kind)
