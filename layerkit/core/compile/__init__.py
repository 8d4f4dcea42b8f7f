"""Compilation modes (Theano's ``theano.compile``), and the shared-variable names
scripts reach through it (``theano.compile.SharedVariable``, ``theano.compile.shared``)."""
from ..config import config
from ..shared import SharedVariable, shared
from . import debugmode, nanguardmode
from .debugmode import DebugMode, DebugModeError
from .nanguardmode import NanGuardError, NanGuardMode

__all__ = ["NanGuardMode", "NanGuardError", "DebugMode", "DebugModeError", "nanguardmode",
           "debugmode", "resolve_mode", "SharedVariable", "shared"]


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
