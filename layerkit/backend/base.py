"""The :class:`Backend` base class: what a backend plugin provides."""
from __future__ import annotations

from difflib import get_close_matches
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
from array_api_compat import array_namespace

__all__ = ["Backend", "BackendUnavailable"]


class BackendUnavailable(RuntimeError):
    """Raised by a backend's constructor when it cannot run here (no GPU, ...)."""


class Backend:
    """A source of arrays and kernels.

    Subclasses set the class attributes ``name``, ``version`` and ``xp`` (an
    array namespace following the Python array API standard), and may
    override kernels in ``kernels``. Everything else has a generic default.

    The registry fills ``kernel_table`` (name -> callable) and
    ``kernel_providers`` (name -> providing package) when the backend is
    created; the core calls kernels only through ``kernel(name)``.
    """

    name: ClassVar[str] = ""
    version: ClassVar[str] = "0"
    #: the array namespace (numpy, cupy, array_api_strict, ...)
    xp: ClassVar[Any] = None
    #: this backend's own kernels, overriding the generic ones by name
    kernels: ClassVar[Mapping[str, Callable[..., Any]]] = {}

    def __init__(self) -> None:
        if not self.name:
            raise TypeError(f"{type(self).__name__} must set the class attribute 'name'")
        if self.xp is None:
            raise TypeError(f"backend {self.name!r} must set the class attribute 'xp'")
        self.kernel_table: dict[str, Callable[..., Any]] = {}
        self.kernel_providers: dict[str, str] = {}

    # -- description ---------------------------------------------------
    @property
    def device(self) -> str:
        """A one-line description of the device the arrays live on."""
        return "cpu"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.version} on {self.device}>"

    # -- arrays --------------------------------------------------------
    def from_numpy(self, a: np.ndarray) -> Any:
        """Return a backend array holding the values of the numpy array ``a``."""
        return self.xp.asarray(a)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Return a numpy array (a copy where the data lives elsewhere)."""
        try:
            return np.from_dlpack(x)
        except (TypeError, AttributeError, BufferError, RuntimeError):
            return np.asarray(x)

    def is_array(self, x: Any) -> bool:
        """True when ``x`` is an array of this backend's namespace."""
        try:
            ns = array_namespace(x)
        except TypeError:
            return False
        return ns is self.xp or getattr(ns, "__name__", None) == getattr(self.xp, "__name__", "")

    # -- kernels -------------------------------------------------------
    def kernel(self, name: str) -> Callable[..., Any]:
        """The kernel called ``name``, after generic < class < plugin precedence."""
        try:
            return self.kernel_table[name]
        except KeyError:
            near = get_close_matches(name, self.kernel_table, n=3)
            hint = f" Did you mean {', '.join(near)}?" if near else ""
            raise KeyError(f"backend {self.name!r} has no kernel {name!r}.{hint}") from None

    def supports_out(self, name: str) -> bool:
        """True when the winning kernel ``name`` accepts ``out=``."""
        return getattr(self.kernel_table.get(name), "accepts_out", False)

    def fuse(self, spec: Any) -> Callable[..., Any] | None:
        """Turn a :class:`layerkit.backend.FusedElemwise` into a callable, or None."""
        return None
