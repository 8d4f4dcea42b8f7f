"""layerkit's numpy backend (a plugin found through the ``layerkit`` entry point)."""
from .backend import NumpyBackend

__all__ = ["NumpyBackend"]
__version__ = "0.1.0"
