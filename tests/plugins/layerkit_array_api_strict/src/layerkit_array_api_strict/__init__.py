"""A backend that supplies only a name, a version and an array namespace.

It stands for an outside author's package: it proves that layerkit's generic
kernels, written against the array API standard alone, run a whole model.
"""
import array_api_strict

from layerkit.backend import Backend, hookimpl

__all__ = ["ArrayApiStrictBackend", "layerkit_backends"]
__version__ = "0.1.0"


class ArrayApiStrictBackend(Backend):
    name = "array-api-strict"
    version = __version__
    xp = array_api_strict


@hookimpl
def layerkit_backends():
    return [ArrayApiStrictBackend]
