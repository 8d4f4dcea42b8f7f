"""Generic kernels: every kernel of the contract, written against the Python
array API standard alone, so a backend that supplies only ``xp`` works.

``GENERIC_KERNELS`` maps kernel names to functions; backends override entries.
"""
from __future__ import annotations

from .elementwise import ELEMENTWISE_KERNELS
from .indexing import INDEXING_KERNELS
from .linalg import LINALG_KERNELS
from .nnet import NNET_KERNELS
from .random import RANDOM_KERNELS
from .reduction import REDUCTION_KERNELS
from .shape import SHAPE_KERNELS

__all__ = ["GENERIC_KERNELS"]

GENERIC_KERNELS = {
    **ELEMENTWISE_KERNELS, **REDUCTION_KERNELS, **SHAPE_KERNELS, **INDEXING_KERNELS,
    **LINALG_KERNELS, **NNET_KERNELS, **RANDOM_KERNELS,
}
for _module in ("conv", "pool"):  # convolution kernels arrive with their own modules
    try:
        _mod = __import__(f"{__name__}.{_module}", fromlist=["x"])
        GENERIC_KERNELS.update(getattr(_mod, f"{_module.upper()}_KERNELS"))
    except ImportError:
        pass
