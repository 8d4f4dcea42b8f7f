"""``LAYERKIT_FLAGS``: Theano-style run-time flags, parsed in one place.

``LAYERKIT_FLAGS="floatX=float64,backend=numpy,mode=DebugMode"``. Both the
backend registry (``backend``) and the core's ``config`` (``floatX``,
``mode``, ``optimizer_excluding``) read them through here, so neither has to
import the other.
"""
from __future__ import annotations

import os

__all__ = ["ENV_FLAGS", "parse_flags", "environment_flags"]

#: the environment variable holding the flags
ENV_FLAGS = "LAYERKIT_FLAGS"


def parse_flags(text: str) -> dict[str, str]:
    """Parse Theano-style flags ``"a=1,b=2"`` into a dict (blank entries skipped)."""
    flags = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"{ENV_FLAGS}: expected key=value, got {item!r}")
        flags[key.strip()] = value.strip()
    return flags


def environment_flags() -> dict[str, str]:
    """The flags set in the environment now."""
    return parse_flags(os.environ.get(ENV_FLAGS, ""))
