"""The numpy backend: numpy arrays, ufunc and BLAS kernels."""
from __future__ import annotations

import numpy as np

from layerkit.backend import Backend

from .kernels import NUMPY_KERNELS

__all__ = ["NumpyBackend"]


def _blas() -> str:
    try:
        info = np.show_config(mode="dicts")
        return info["Build Dependencies"]["blas"]["name"]
    except Exception:
        return "unknown BLAS"


class NumpyBackend(Backend):
    name = "numpy"
    version = "0.1.0"
    xp = np
    kernels = NUMPY_KERNELS

    @property
    def device(self) -> str:
        return f"cpu (numpy {np.__version__}, {_blas()})"

    def from_numpy(self, a):
        return np.asarray(a)

    def to_numpy(self, x):
        return np.asarray(x)

    def is_array(self, x) -> bool:
        return isinstance(x, (np.ndarray, np.generic))
