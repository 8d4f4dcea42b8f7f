"""A backend that supplies only a name and an array namespace.

It proves that layerkit's generic kernels, written against the array API
standard alone, run a whole model.
"""
import array_api_strict
import numpy as np

from layerkit.backend import Backend, hookimpl


class ArrayApiStrictBackend(Backend):
    name = "array-api-strict"
    version = array_api_strict.__version__
    xp = array_api_strict

    def to_numpy(self, x):
        return np.asarray(np.from_dlpack(x))


@hookimpl
def layerkit_backends():
    return [ArrayApiStrictBackend]
