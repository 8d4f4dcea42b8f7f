"""The array namespace of a kernel's inputs."""
from __future__ import annotations

import numpy as np
from array_api_compat import array_namespace

__all__ = ["namespace"]


def namespace(*xs):
    """``array_namespace`` of the array inputs, ignoring Python scalars.

    The core's constant folding may hand a kernel plain Python numbers next to
    arrays (or only numbers); those fall back to numpy's standard namespace.
    Plain numpy inputs (arrays and numpy scalars, common on the host) take a
    fast path: ``array_namespace`` is slow on numpy scalars (~180 us).
    """
    if all(isinstance(x, (np.ndarray, np.generic, bool, int, float, complex)) or x is None
           for x in xs):
        # lazy: array_api_compat.numpy pulls in numpy.testing and numpy.f2py (~60 ms), kept
        # off `import layerkit` until a kernel first runs
        import array_api_compat.numpy as np_compat
        return np_compat
    arrays = [x for x in xs if not isinstance(x, (bool, int, float, complex)) and x is not None]
    return array_namespace(*arrays)
