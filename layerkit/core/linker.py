"""The linker: a rewritten graph made into a callable, in three steps.

1. :func:`~layerkit.core.schedule.schedule` — the order of the nodes, host or
   device for each, and the in-place writes (:mod:`layerkit.core.aliasing`);
2. :func:`~layerkit.core.emit.emit` — straight-line Python calling one kernel
   per node, each line naming its op and the user's line;
3. :class:`~layerkit.core.program.Program` — a call around that code: locks,
   copies, stored updates, the replay that names a failing node.
"""
from __future__ import annotations

from .config import config
from .emit import emit
from .errors import KernelError, describe_args, dtype_name, kernel_error  # noqa: F401 (old path)
from .program import Program
from .schedule import schedule

__all__ = ["link", "KernelError", "kernel_error", "describe_args", "dtype_name"]


def link(fn) -> Program:
    """The program of a :class:`~layerkit.core.function.Function` whose graph is
    rewritten (``fn.outputs``, ``fn.update_targets``, ``fn.update_values``)."""
    in_place = "inplace" not in config.excluded() and fn.guard is None
    plan = schedule(fn.outputs, fn.update_targets, fn.update_values, in_place)
    return Program(fn, plan, emit(fn, plan))
