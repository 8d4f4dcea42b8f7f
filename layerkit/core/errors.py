"""Errors of compiled functions, and how run-time values are described in them.

Kept apart from the linker so that every module that reports a run-time
failure (the linker's program, NanGuardMode, DebugMode, input conversion)
can use one vocabulary without importing the others.
"""
from __future__ import annotations

__all__ = ["LocatedError", "KernelError", "kernel_error", "dtype_name", "describe_args"]


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
