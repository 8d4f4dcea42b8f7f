"""Theano's ``theano.compile.debugmode`` path: see :mod:`layerkit.core.debugmode`
(pickles made before the move also find the classes here)."""
from ..debugmode import DebugMode, DebugModeError, checked_thunk, debug_call  # noqa: F401

__all__ = ["DebugMode", "DebugModeError"]
