"""layerkit: Theano's symbolic core and Lasagne's layers on pluggable backends.

``import layerkit as lasagne`` gives Lasagne's modules (layers, init,
nonlinearities, objectives, regularization, updates, utils, random);
``layerkit.core`` is Theano's programming model.
"""
from __future__ import annotations

from .backend import use

__version__ = "0.1.0"
__all__ = ["use", "core", "__version__"]


def __getattr__(name):
    # Lasagne's submodules load on first use, so `import layerkit` stays light
    import importlib
    if name in ("core", "layers", "init", "nonlinearities", "objectives", "regularization",
                "updates", "utils", "random", "testing", "params", "train"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'layerkit' has no attribute {name!r}")
