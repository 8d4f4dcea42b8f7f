"""The numpy backend: numpy arrays, ufunc and BLAS kernels."""
from __future__ import annotations

import functools

import numpy as np

from layerkit.backend import Backend

from . import __version__
from .conv import NUMPY_CONV_KERNELS
from .elemwise import ELEMWISE_KERNELS
from .linalg import LINALG_KERNELS
from .nnet import NNET_KERNELS
from .pool import NUMPY_POOL_KERNELS
from .random import RANDOM_KERNELS
from .reduce import REDUCE_KERNELS
from .shape import SHAPE_KERNELS
from .subtensor import SUBTENSOR_KERNELS

__all__ = ["NumpyBackend", "NUMPY_KERNELS", "OUT_KERNELS"]

#: the kernels overriding the generic ones, one module per op family (named as the
#: core's op module and the generic kernel module of that family)
NUMPY_KERNELS = {
    **ELEMWISE_KERNELS, **REDUCE_KERNELS, **NNET_KERNELS, **SUBTENSOR_KERNELS,
    **LINALG_KERNELS, **SHAPE_KERNELS, **RANDOM_KERNELS, **NUMPY_CONV_KERNELS,
    **NUMPY_POOL_KERNELS,
}
#: the kernels above that accept ``out=``
OUT_KERNELS = frozenset(k for k, f in NUMPY_KERNELS.items() if getattr(f, "accepts_out", False))


@functools.cache
def _blas() -> str:
    try:
        info = np.show_config(mode="dicts")
        blas = info["Build Dependencies"]["blas"]
        return f"BLAS: {blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # the layout of show_config is not a stable API
        return "BLAS: unknown"


class NumpyBackend(Backend):
    """numpy arrays on the CPU, with numpy's ufuncs and BLAS-backed kernels."""

    name = "numpy"
    #: the plugin's version (``layerkit-numpy``); the device line names numpy's
    version = __version__
    xp = np
    kernels = NUMPY_KERNELS

    def __init__(self) -> None:
        super().__init__()
        from .memory import keep_freed_memory
        keep_freed_memory()   # no page faults from the temporaries of each step

    @property
    def device(self) -> str:
        return f"cpu (numpy {np.__version__}, {_blas()})"

    def from_numpy(self, a):
        return np.asarray(a)

    def to_numpy(self, x):
        return np.asarray(x)

    def is_array(self, x) -> bool:
        return isinstance(x, (np.ndarray, np.generic))
