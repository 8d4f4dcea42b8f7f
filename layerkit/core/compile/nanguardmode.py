"""Theano's ``theano.compile.nanguardmode`` path: see :mod:`layerkit.core.nanguardmode`
(pickles made before the move also find the classes here)."""
from ..nanguardmode import NanGuardError, NanGuardMode  # noqa: F401

__all__ = ["NanGuardMode", "NanGuardError"]
