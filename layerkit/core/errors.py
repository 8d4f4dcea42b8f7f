"""Errors of compiled functions, and how run-time values are described in them.

Kept apart from the linker so that every module that reports a run-time
failure (the linker's program, NanGuardMode, DebugMode, input conversion)
can use one vocabulary without importing the others.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LocatedError", "KernelError", "kernel_error", "dtype_name", "describe_args",
           "describe_mismatch"]


class LocatedError(Exception):
    """An error raised at run time that already names the node at fault (its op and
    the line of user code that built it): the linker does not replay the call to
    find the node."""


class KernelError(RuntimeError, LocatedError):
    """A kernel failed at run time; the message names the op, the inputs' dtypes and
    shapes, and the line of user code that built the node.

    When the kernel raised a builtin exception (``ValueError``, ``IndexError``,
    ...), the error raised is also an instance of that type, so code that caught
    the bare error (as Theano re-raised it) still catches it.
    """


_KERNEL_ERRORS: dict[type, type] = {}


def kernel_error(message: str, inner: BaseException) -> KernelError:
    """A KernelError carrying ``message`` that is also of ``inner``'s builtin type."""
    kind = type(inner)
    cls = _KERNEL_ERRORS.get(kind)
    if cls is None:
        cls = KernelError
        if kind.__module__ == "builtins" and issubclass(kind, Exception) \
                and not issubclass(kind, KernelError):
            try:
                cls = type("KernelError", (KernelError, kind),
                           {"__module__": __name__, "__qualname__": "KernelError",
                            "__reduce__": lambda self: (kernel_error, (self.args[0], kind()))})
            except TypeError:    # builtins with their own instance layout (OSError, ...)
                cls = KernelError
        _KERNEL_ERRORS[kind] = cls
    return cls(message)


def dtype_name(dtype) -> str:
    """``float64`` for numpy's, cupy's or array-api-strict's (``array_api_strict.float64``)."""
    return str(dtype).rsplit(".", 1)[-1]


def describe_args(args) -> str:
    """``float64(3, 4), int64(2,)``: the dtype and shape of each run-time value."""
    return ", ".join(f"{dtype_name(a.dtype) if hasattr(a, 'dtype') else type(a).__name__}"
                     f"{tuple(getattr(a, 'shape', ()))}" for a in args)


def _fmt(v: Any) -> str:
    v = v.item() if hasattr(v, "item") else v
    return f"{v:.6g}" if isinstance(v, float) else repr(v)


def _index(flat: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def describe_mismatch(got, want, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """None when ``got`` matches ``want`` elementwise (same shape), else what differs.

    Elements match when ``|got - want| <= atol + rtol * |want|`` (NaN matches
    NaN, infinities match themselves); with both tolerances 0 they must be
    equal. The text gives how many elements differ, and the largest absolute
    and relative errors with their index and both values.
    """
    got, want = np.asarray(got), np.asarray(want)
    exact = rtol == 0 and atol == 0
    if exact and not (got.dtype.kind in "fc" or want.dtype.kind in "fc"):
        bad = np.asarray(got != want)
    else:
        g, w = got.astype(np.float64), want.astype(np.float64)
        bad = ~np.isclose(g, w, rtol=rtol, atol=atol, equal_nan=True)
    n_bad = int(np.count_nonzero(bad))
    if not n_bad:
        return None
    g, w = got.astype(np.float64).reshape(-1), want.astype(np.float64).reshape(-1)
    flat_bad = np.flatnonzero(bad)
    with np.errstate(invalid="ignore", divide="ignore"):
        err = np.abs(g[flat_bad] - w[flat_bad])
        err = np.where(np.isnan(err), np.inf, err)       # NaN against a number, inf - inf
        rel = np.where(w[flat_bad] != 0, err / np.abs(w[flat_bad]), np.inf)
    tol = "(exact comparison)" if exact else f"beyond rtol={rtol:g}, atol={atol:g}"
    parts = [f"{n_bad} of {got.size} elements differ {tol}"]
    ka, kr = int(np.argmax(err)), int(np.argmax(rel))
    where = [(f"max abs error {_fmt(err[ka])}", ka), (f"max rel error {_fmt(rel[kr])}", kr)]
    if ka == kr:
        where = [(f"{where[0][0]} and {where[1][0]}", ka)]
    for label, k in where:
        i = flat_bad[k]
        parts.append(f"{label} at index {_index(i, got.shape)} "
                     f"(got {_fmt(got.reshape(-1)[i])}, expected {_fmt(want.reshape(-1)[i])})")
    return "; ".join(parts)
