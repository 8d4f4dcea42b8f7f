"""The hook implementations layerkit finds through the ``layerkit`` entry point."""
from layerkit.backend import hookimpl

from .backend import NumpyBackend

__all__ = ["layerkit_backends"]


@hookimpl
def layerkit_backends():
    return [NumpyBackend]
