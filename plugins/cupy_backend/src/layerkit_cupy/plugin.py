"""The hook implementations layerkit finds through the ``layerkit`` entry point.

Importing this module (and ``backend``) never imports cupy: that happens
when the backend is first used.
"""
from layerkit.backend import hookimpl

from .backend import CupyBackend

__all__ = ["layerkit_backends"]


@hookimpl
def layerkit_backends():
    return [CupyBackend]
