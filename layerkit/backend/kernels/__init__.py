"""Generic kernels: every kernel of the contract (``docs/kernels.md``), written
against the Python array API standard alone, so a backend that supplies only
``xp`` works, and the host backend runs them on plain numpy arrays.

``GENERIC_KERNELS`` maps kernel names to functions; backends override entries
by name. ``KERNEL_NAMES`` is the contract's list of names (conv and pool join
it with their issue), which the conformance suite checks every backend against.
"""
from __future__ import annotations

import importlib

from .elementwise import BINARY_NAMES, ELEMENTWISE_KERNELS, UNARY_NAMES
from .indexing import INDEXING_KERNELS
from .linalg import LINALG_KERNELS
from .nnet import NNET_KERNELS
from .random import RANDOM_KERNELS
from .reduction import REDUCTION_KERNELS
from .shape import SHAPE_KERNELS

__all__ = ["GENERIC_KERNELS", "KERNEL_NAMES", "UNARY_NAMES", "BINARY_NAMES"]

GENERIC_KERNELS = {
    **ELEMENTWISE_KERNELS, **REDUCTION_KERNELS, **SHAPE_KERNELS, **INDEXING_KERNELS,
    **LINALG_KERNELS, **NNET_KERNELS, **RANDOM_KERNELS,
}

for _module in ("conv", "pool"):  # convolution kernels arrive with their own modules
    try:
        _mod = importlib.import_module(f"{__name__}.{_module}")
    except ModuleNotFoundError as _err:
        if _err.name != f"{__name__}.{_module}":   # a real import error inside it surfaces
            raise
    else:
        GENERIC_KERNELS.update(getattr(_mod, f"{_module.upper()}_KERNELS"))

#: every kernel name a backend must provide (generic defaults included)
KERNEL_NAMES = frozenset(GENERIC_KERNELS)
