"""``theano.scalar``: the part old scripts use — ``upcast`` of dtype names
(``hmc.py`` types its running averages with it)."""
from __future__ import annotations

from .types import as_dtype, upcast as _upcast

__all__ = ["upcast"]


def upcast(dtype, *dtypes) -> str:
    """The dtype that holds every value of the given dtypes (``'int8', 'float32'``
    -> ``'float32'``), as Theano's ``scalar.upcast``."""
    return _upcast(*(as_dtype(d) for d in (dtype, *dtypes)))
