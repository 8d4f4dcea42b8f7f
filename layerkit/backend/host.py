"""The host backend: numpy arrays and the generic kernels.

The core runs small integer computations (shapes, indices) and constant
folding here, whatever the function's backend is.
"""
from __future__ import annotations

import functools

import numpy as np

from .base import Backend
from .kernels import GENERIC_KERNELS

__all__ = ["HostBackend", "host_backend"]


class HostBackend(Backend):
    name = "host"
    version = np.__version__
    xp = np

    def from_numpy(self, a):
        return np.asarray(a)

    def to_numpy(self, x):
        return np.asarray(x)


@functools.cache
def host_backend() -> HostBackend:
    backend = HostBackend()
    backend.kernel_table.update(GENERIC_KERNELS)
    backend.kernel_providers.update({k: "layerkit (generic)" for k in GENERIC_KERNELS})
    return backend
