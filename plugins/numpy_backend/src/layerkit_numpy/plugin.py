"""The hook implementations layerkit finds through the entry point."""
from layerkit.backend import hookimpl


@hookimpl
def layerkit_backends():
    from .backend import NumpyBackend
    return [NumpyBackend]
