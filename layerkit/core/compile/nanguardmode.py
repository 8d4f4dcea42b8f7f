"""``NanGuardMode``: stop at the first node that produces NaN, Inf or a huge value."""
from __future__ import annotations

import numpy as np

__all__ = ["NanGuardMode", "NanGuardError"]


class NanGuardError(FloatingPointError):
    """A node produced NaN, Inf or a value above ``big`` under NanGuardMode."""


class NanGuardMode:
    """Theano's debugging mode: pass as ``function(..., mode=NanGuardMode(...))``.

    Every node's output is checked after it runs; the first offending node is
    named with the line of user code that built it.
    """

    def __init__(self, nan_is_error=True, inf_is_error=True, big_is_error=True,
                 big: float = 1e10, optimizer=None, linker=None):
        self.nan_is_error, self.inf_is_error, self.big_is_error = nan_is_error, inf_is_error, big_is_error
        self.big = big

    def check(self, value, node, backend) -> None:
        arr = np.asarray(backend.to_numpy(value))
        if arr.dtype.kind not in "fc" or arr.size == 0:
            return
        problem = None
        if self.nan_is_error and np.isnan(arr).any():
            problem = "NaN"
        elif self.inf_is_error and np.isinf(arr).any():
            problem = "Inf"
        elif self.big_is_error and np.nanmax(np.abs(arr[np.isfinite(arr)]), initial=0) > self.big:
            problem = f"a value above {self.big:g}"
        if problem:
            ins = ", ".join(f"{i.dtype}{i.type.shape}" for i in node.inputs)
            raise NanGuardError(f"NanGuardMode: {node.op} produced {problem} (inputs: {ins});\n"
                                f"  the node was built at {node.trace}")
