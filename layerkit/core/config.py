"""Run-time settings (Theano's ``config``): floatX, the default backend, flags.

``LAYERKIT_FLAGS`` (``floatX=float64,backend=numpy``) is read once at import;
attributes may be set at any time and are read when a variable is created.
"""
from __future__ import annotations

import os

__all__ = ["config", "parse_flags"]

_FLOAT_TYPES = ("float16", "float32", "float64")


def parse_flags(text: str) -> dict[str, str]:
    """Parse Theano-style flags ``"a=1,b=2"`` into a dict (blank entries skipped)."""
    flags = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"LAYERKIT_FLAGS: expected key=value, got {item!r}")
        flags[key.strip()] = value.strip()
    return flags


class Config:
    """Settings; set attributes to change them (``config.floatX = "float64"``)."""

    def __init__(self) -> None:
        flags = parse_flags(os.environ.get("LAYERKIT_FLAGS", ""))
        self.floatX = flags.get("floatX", "float32")
        #: the compiled-function mode used when ``function(mode=None)``
        self.mode = flags.get("mode", "FAST_RUN")
        #: rewrite phases to skip, colon-separated (Theano's flag): any of
        #: ``constant_folding``, ``merge``, ``canonicalize``, ``specialize``,
        #: ``fusion``, ``inplace``; for measuring what each phase is worth
        self.optimizer_excluding = flags.get("optimizer_excluding", "")

    def excluded(self) -> frozenset:
        """The phases named in :attr:`optimizer_excluding`."""
        return frozenset(p for p in self.optimizer_excluding.split(":") if p)

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
