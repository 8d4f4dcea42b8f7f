"""Saying so when a compatibility argument is accepted but has no effect.

Theano and Lasagne code passes arguments that mean nothing here (tuning knobs
of Theano's C code, flags whose work layerkit's compiler does by itself).
Refusing them would break that code; ignoring them silently would hide the
ones that do change a result. So each is either implemented, refused with an
error when its value would change the result, or accepted with one
:class:`IgnoredArgumentWarning` per process naming the function and the
argument.
"""
from __future__ import annotations

import threading
import warnings

__all__ = ["IgnoredArgumentWarning", "warn_ignored"]


class IgnoredArgumentWarning(UserWarning):
    """An argument was accepted for compatibility and has no effect."""


_WARNED: set[tuple[str, str]] = set()
_LOCK = threading.Lock()


def warn_ignored(func: str, arg: str, why: str, stacklevel: int = 3) -> None:
    """Warn, once per process for each ``(func, arg)``, that ``arg`` of ``func`` is ignored."""
    with _LOCK:
        if (func, arg) in _WARNED:
            return
        _WARNED.add((func, arg))
    warnings.warn(f"{func}: the argument {arg!r} is accepted for compatibility and ignored: "
                  f"{why}", IgnoredArgumentWarning, stacklevel=stacklevel)
