"""layerkit's numpy backend (a plugin found through the ``layerkit`` entry point)."""
__version__ = "0.1.0"

from .backend import NumpyBackend  # noqa: E402 - backend reads __version__

__all__ = ["NumpyBackend", "__version__"]
