"""The numpy backend: numpy arrays, ufunc and BLAS kernels."""
from __future__ import annotations

import functools

import numpy as np

from layerkit.backend import Backend

from . import __version__
from .kernels import NUMPY_KERNELS

__all__ = ["NumpyBackend"]


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
