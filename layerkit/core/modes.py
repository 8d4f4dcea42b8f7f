"""Compilation modes: what ``function(mode=...)`` and ``config.mode`` accept.

'FAST_RUN' and 'FAST_COMPILE' are one pipeline here; 'NanGuardMode'
(:mod:`layerkit.core.nanguardmode`) checks every node's output for NaN, Inf
and huge values; 'DebugMode' (:mod:`layerkit.core.debugmode`) checks every
node against the generic kernels and every call against the unoptimized graph.
"""
from __future__ import annotations

from .config import config
from .debugmode import DebugMode
from .nanguardmode import NanGuardMode

__all__ = ["resolve_mode"]


def resolve_mode(mode):
    """``mode`` as given to ``function`` (None: ``config.mode``, which
    ``LAYERKIT_FLAGS=mode=...`` sets): None for 'FAST_RUN' / 'FAST_COMPILE'
    (one pipeline here), else a NanGuardMode or DebugMode object."""
    where = "function"
    if mode is None:
        mode, where = config.mode, "config.mode (LAYERKIT_FLAGS=mode=...)"
    if mode is None or mode in ("FAST_RUN", "FAST_COMPILE", "Mode"):
        return None
    if mode == "NanGuardMode":
        return NanGuardMode()
    if mode == "DebugMode":
        return DebugMode()
    if isinstance(mode, (NanGuardMode, DebugMode)):
        return mode
    raise ValueError(f"{where}: unknown mode {mode!r}; expected 'FAST_RUN', 'FAST_COMPILE', "
                     "'NanGuardMode', 'DebugMode' or a NanGuardMode(...)/DebugMode(...) object")
