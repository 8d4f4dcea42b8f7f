"""How the kit compares a result with its reference, and how it reports a failure.

Every failure of the kit is a :class:`KernelMismatch` (an ``AssertionError``)
whose message starts with the kernel (or op case) and the case, then says
what differs::

    kernel 'sigmoid', case float32 (3, 5, 7) in [-6, 6) with (...): 12 of 105
    elements differ beyond rtol=2e-06, atol=1e-06; max abs error 0.0474 at
    (0, 3, 1) (got 0.0474, expected 0.000335); max rel error 140 at (0, 3, 1) (...)

and whose ``layerkit_kernels`` attribute names the kernels to blame, so that
``layerkit backends --check`` can put the failure in the right row. Any other
exception raised inside a kernel gets the same attribute through :func:`blame`.
``layerkit_direct`` is False for failures of a compiled graph (the op suite):
they blame every kernel the graph is about, and the report prefers those of
them that also fail on their own.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from layerkit.core.errors import describe_mismatch  # noqa: F401 (the kit's name for it)

__all__ = ["KernelMismatch", "expect", "blame", "blamed_kernels", "is_direct", "describe_mismatch",
           "assert_close", "fail"]


class KernelMismatch(AssertionError):
    """A kernel (or an op built on kernels) disagrees with the reference."""

    def __init__(self, message: str, kernels: Iterable[str], direct: bool = True) -> None:
        super().__init__(message)
        self.layerkit_kernels = tuple(kernels)
        #: True when a kernel was called directly; False for a compiled graph
        self.layerkit_direct = direct


def blame(err: BaseException, *kernels: str, direct: bool = True) -> BaseException:
    """Record on ``err`` the kernels it came from (the innermost record wins)."""
    if not getattr(err, "layerkit_kernels", None):
        try:
            err.layerkit_kernels = tuple(kernels)
            err.layerkit_direct = direct
        except (AttributeError, TypeError):  # an exception type with __slots__
            pass
    return err


def is_direct(err: BaseException | None) -> bool:
    """False when ``err`` came from a compiled graph rather than a kernel called directly."""
    return bool(getattr(err, "layerkit_direct", True))


def blamed_kernels(err: BaseException | None) -> tuple[str, ...]:
    """The kernels ``err`` names (see :func:`blame`), or ()."""
    return tuple(getattr(err, "layerkit_kernels", None) or ())


def fail(kernels: str | Iterable[str], message: str, direct: bool = True) -> KernelMismatch:
    """A :class:`KernelMismatch` blaming ``kernels`` (raise it)."""
    names = (kernels,) if isinstance(kernels, str) else tuple(kernels)
    return KernelMismatch(message, names, direct)


def expect(condition, kernel: str, case, what: str) -> None:
    """Raise a :class:`KernelMismatch` saying ``what`` unless ``condition``."""
    __tracebackhide__ = True
    if not condition:
        raise fail(kernel, f"kernel {kernel!r}, case {case}: {what}")



def assert_close(got, want, kernel: str, case: Any, *, dtype=None, exact: bool = False,
                 rtol: float = 0.0, atol: float = 0.0, kernels: Iterable[str] | None = None,
                 what: str = "kernel") -> None:
    """Raise :class:`KernelMismatch` unless ``got`` matches ``want``.

    The shape must be equal, the dtype too when ``dtype`` is given, and the
    values within ``rtol``/``atol`` (equal when ``exact``). The message names
    ``what`` ``kernel`` (``"kernel 'sigmoid'"``, ``"op case 'dense'"``) and the case;
    anything but a ``"kernel"`` is an indirect failure (``layerkit_direct`` False).
    """
    __tracebackhide__ = True      # pytest shows the test's line, not this one
    where = f"{what} {kernel!r}, case {case}"
    blamed = tuple(kernels) if kernels is not None else (kernel,)
    direct = what == "kernel"
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        raise KernelMismatch(f"{where}: shape {got.shape}, expected {want.shape}", blamed, direct)
    if dtype is not None and got.dtype != np.dtype(dtype):
        raise KernelMismatch(f"{where}: dtype {got.dtype}, expected {np.dtype(dtype)}", blamed,
                             direct)
    text = describe_mismatch(got, want, 0.0 if exact else rtol, 0.0 if exact else atol)
    if text:
        raise KernelMismatch(f"{where}: {text}", blamed, direct)
