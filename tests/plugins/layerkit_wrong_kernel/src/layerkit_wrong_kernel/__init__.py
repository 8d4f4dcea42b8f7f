"""A kernel override that is wrong on purpose: the kit must catch it.

``sigmoid`` for the numpy backend is right for ``x >= -2`` and replaced by
``exp(x)`` (the left tail's first-order approximation, up to 13% off at -2)
below, the kind of shortcut a fast kernel might take. Only a few elements of
each test input fall there, so a report must say which and by how much.
"""
import numpy as np
import scipy.special as sp

from layerkit.backend import hookimpl

__all__ = ["layerkit_kernels", "sigmoid"]
__version__ = "0.1.0"


def sigmoid(x):
    x = np.asarray(x)
    return np.where(x < -2, np.exp(np.minimum(x, 0)), sp.expit(x)).astype(x.dtype)


@hookimpl
def layerkit_kernels(backend):
    return {"sigmoid": sigmoid} if backend.name == "numpy" else None
