"""Generic kernels: every kernel of the contract (``docs/kernels.md``), written
against the Python array API standard alone, so a backend that supplies only
``xp`` works, and the host backend runs them on plain numpy arrays.

One module per op family, named as the core's op module that calls it
(``layerkit/core/ops/<name>.py``) and as each plugin's kernel module:
``elemwise``, ``reduce``, ``shape``, ``subtensor``, ``linalg``, ``nnet``,
``random``, ``conv``, ``pool``.

``GENERIC_KERNELS`` maps kernel names to functions; backends override entries
by name. ``KERNEL_NAMES`` is the contract's list of names, which the
conformance suite checks every backend against.
"""
from __future__ import annotations

from .conv import CONV_KERNELS
from .elemwise import BINARY_NAMES, ELEMWISE_KERNELS, UNARY_NAMES
from .linalg import LINALG_KERNELS
from .nnet import NNET_KERNELS
from .pool import POOL_KERNELS
from .random import RANDOM_KERNELS
from .reduce import REDUCE_KERNELS
from .shape import SHAPE_KERNELS
from .subtensor import SUBTENSOR_KERNELS

__all__ = ["GENERIC_KERNELS", "KERNEL_NAMES", "UNARY_NAMES", "BINARY_NAMES"]

GENERIC_KERNELS = {
    **ELEMWISE_KERNELS, **REDUCE_KERNELS, **SHAPE_KERNELS, **SUBTENSOR_KERNELS,
    **LINALG_KERNELS, **NNET_KERNELS, **RANDOM_KERNELS, **CONV_KERNELS, **POOL_KERNELS,
}

#: every kernel name a backend must provide (generic defaults included)
KERNEL_NAMES = frozenset(GENERIC_KERNELS)
