"""Run-time settings (Theano's ``config``): floatX, the default backend, flags.

``LAYERKIT_FLAGS`` (``floatX=float64,backend=numpy``; parsed by
:mod:`layerkit.flags`) is read once at import;
attributes may be set at any time and are read when a variable is created.
"""
from __future__ import annotations

import warnings

from ..flags import environment_flags, parse_flags  # noqa: F401 (parse_flags: old path)

__all__ = ["config", "parse_flags"]

_FLOAT_TYPES = ("float16", "float32", "float64")
#: the flags LAYERKIT_FLAGS may set (``backend`` is the registry's)
_FLAGS = frozenset({"floatX", "mode", "optimizer_excluding", "backend"})
#: the rewrite phases ``optimizer_excluding`` may name
PHASES = frozenset({"constant_folding", "merge", "canonicalize", "specialize", "fusion",
                    "inplace"})


class Config:
    """Settings; set attributes to change them (``config.floatX = "float64"``)."""

    def __init__(self) -> None:
        flags = environment_flags()
        unknown = sorted(set(flags) - _FLAGS)
        if unknown:                      # a misspelt flag would otherwise do nothing
            warnings.warn(f"LAYERKIT_FLAGS: unknown flag(s) {', '.join(unknown)} ignored; "
                          f"known: {', '.join(sorted(_FLAGS))}", UserWarning, stacklevel=2)
        self.floatX = flags.get("floatX", "float32")
        #: the compiled-function mode used when ``function(mode=None)``
        self.mode = flags.get("mode", "FAST_RUN")
        #: rewrite phases to skip, colon-separated (Theano's flag): any of
        #: ``constant_folding``, ``merge``, ``canonicalize``, ``specialize``,
        #: ``fusion``, ``inplace``; for measuring what each phase is worth
        self.optimizer_excluding = flags.get("optimizer_excluding", "")

    def excluded(self) -> frozenset:
        """The phases named in :attr:`optimizer_excluding` (a name that is no phase
        is refused: a misspelt one would silently exclude nothing)."""
        names = frozenset(p for p in self.optimizer_excluding.split(":") if p)
        if not names <= PHASES:
            raise ValueError(f"optimizer_excluding: unknown phase(s) "
                             f"{', '.join(sorted(names - PHASES))}; the phases are "
                             f"{', '.join(sorted(PHASES))}")
        return names

    @property
    def floatX(self) -> str:
        return self._floatX

    @floatX.setter
    def floatX(self, value: str) -> None:
        if value not in _FLOAT_TYPES:
            raise ValueError(f"config.floatX must be one of {_FLOAT_TYPES}, got {value!r}")
        self._floatX = value

    def __repr__(self) -> str:
        return (f"Config(floatX={self.floatX!r}, mode={self.mode!r}, "
                f"optimizer_excluding={self.optimizer_excluding!r})")


config = Config()
