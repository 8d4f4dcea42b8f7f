"""The errors of :mod:`layerkit.distributed` (a module of their own, so that
``world``, ``device`` and ``exits`` can all raise them without importing each
other)."""
from __future__ import annotations

from ..core.errors import LocatedError

__all__ = ["DistributedError", "DistributedTimeout", "RankExited"]


class DistributedError(RuntimeError):
    """Ranks that disagree (different networks, different device paths), a
    collective that failed, or one made after this rank's exit notice."""


class DistributedTimeout(DistributedError, LocatedError):
    """A collective waited longer than the world's timeout for the other ranks.

    A ``LocatedError``: its message names the collective (and, for a gradient
    all-reduce, the line that built it), so a compiled call that raises it is not
    replayed node by node (a replay would wait a second time)."""


class RankExited(DistributedError, LocatedError):
    """Another rank's Python ended (``sys.exit``, ``SystemExit``, the end of its
    script) before the collective this rank waits in, which it will never join."""
