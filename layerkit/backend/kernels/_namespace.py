"""The array namespace of a kernel's inputs."""
from __future__ import annotations

from array_api_compat import array_namespace

__all__ = ["namespace"]


def namespace(*xs):
    """``array_namespace`` of the array inputs, ignoring Python scalars.

    The core's constant folding may hand a kernel plain Python numbers next to
    arrays (or only numbers); those fall back to numpy's standard namespace.
    """
    arrays = [x for x in xs if not isinstance(x, (bool, int, float, complex)) and x is not None]
    if arrays:
        return array_namespace(*arrays)
    import array_api_compat.numpy as np_compat
    return np_compat
