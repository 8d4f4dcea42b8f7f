"""Theano's ``theano.compile``, as the names old scripts reach through it:
``function``, ``In``, the modes (``NanGuardMode``, ``DebugMode``) and
``SharedVariable``/``shared``. A re-export: the modes live in
``layerkit.core.nanguardmode`` and ``layerkit.core.debugmode``, ``function`` in
``layerkit.core.function``."""
from ..debugmode import DebugMode, DebugModeError
from ..function import Function, In, function
from ..modes import resolve_mode
from ..nanguardmode import NanGuardError, NanGuardMode
from ..shared import SharedVariable, shared
from . import debugmode, nanguardmode

__all__ = ["function", "Function", "In", "NanGuardMode", "NanGuardError", "DebugMode",
           "DebugModeError", "nanguardmode", "debugmode", "resolve_mode", "SharedVariable",
           "shared"]
