"""``NanGuardMode``: stop at the first node that produces NaN, Inf or a huge value."""
from __future__ import annotations

import numpy as np

from .errors import LocatedError, describe_args
from .ignored import warn_ignored

__all__ = ["NanGuardMode", "NanGuardError"]


class NanGuardError(FloatingPointError, LocatedError):
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
        for arg, value in (("optimizer", optimizer), ("linker", linker)):
            if value is not None:
                warn_ignored("NanGuardMode", arg, "NanGuardMode always checks the unfused "
                             "graph with layerkit's own linker")

    def problem(self, value, backend) -> str | None:
        """What is wrong with ``value`` under this mode ('NaN', 'Inf', ...), or None."""
        arr = np.asarray(backend.to_numpy(value))
        if arr.dtype.kind not in "fc" or arr.size == 0:
            return None
        if self.nan_is_error and np.isnan(arr).any():
            return "NaN"
        if self.inf_is_error and np.isinf(arr).any():
            return "Inf"
        if self.big_is_error:
            finite = np.abs(arr[np.isfinite(arr)])
            if finite.size and finite.max() > self.big:
                return f"a value above {self.big:g} (largest magnitude {finite.max():.3g})"
        return None

    def check(self, value, node, backend, args) -> None:
        """Raise if the output ``value`` of ``node`` (run on ``args``) is bad."""
        problem = self.problem(value, backend)
        if problem:
            ins = describe_args(args)
            raise NanGuardError(f"NanGuardMode: {node.op} produced {problem} (inputs: {ins});\n"
                                f"  the node was built at {node.trace}")

    def check_input(self, value, label: str, backend) -> None:
        """Raise if a function input or shared value given to the function is bad."""
        problem = self.problem(value, backend)
        if problem:
            raise NanGuardError(f"NanGuardMode: {label} holds {problem} before the call")

    def check_constant(self, value, k: int, node, backend) -> None:
        """Raise if constant input ``k`` of ``node`` is bad (e.g. folded from log(-1))."""
        problem = self.problem(value, backend)
        if problem:
            const = node.inputs[k]
            raise NanGuardError(f"NanGuardMode: input {k} of {node.op} is a constant holding "
                                f"{problem} (the constant was made at {const.trace});\n"
                                f"  the node was built at {node.trace}")

    def __repr__(self) -> str:
        return (f"NanGuardMode(nan_is_error={self.nan_is_error}, inf_is_error={self.inf_is_error}, "
                f"big_is_error={self.big_is_error}, big={self.big:g})")
