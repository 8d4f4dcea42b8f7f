"""Compilation modes (Theano's ``theano.compile``)."""
from . import nanguardmode
from .nanguardmode import NanGuardError, NanGuardMode

__all__ = ["NanGuardMode", "NanGuardError", "nanguardmode", "resolve_mode"]


def resolve_mode(mode):
    """``mode`` as given to ``function``: None / 'FAST_RUN' / 'FAST_COMPILE', or a NanGuardMode."""
    if mode is None or mode in ("FAST_RUN", "FAST_COMPILE", "DebugMode"):
        return None
    if mode == "NanGuardMode":
        return NanGuardMode()
    if isinstance(mode, NanGuardMode):
        return mode
    raise ValueError(f"function: unknown mode {mode!r}; expected 'FAST_RUN', 'FAST_COMPILE', "
                     "'NanGuardMode' or a NanGuardMode(...) object")
