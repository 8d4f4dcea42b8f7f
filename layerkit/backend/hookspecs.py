"""The hooks a layerkit plugin may implement.

A plugin is a module named by an entry point in the group ``layerkit``.
It implements any of these hooks with :data:`layerkit.backend.hookimpl`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import pluggy

if TYPE_CHECKING:
    from .base import Backend

__all__ = ["hookspec", "hookimpl", "layerkit_backends", "layerkit_kernels"]

hookspec = pluggy.HookspecMarker("layerkit")
hookimpl = pluggy.HookimplMarker("layerkit")


@hookspec
def layerkit_backends() -> Sequence[type[Backend] | Callable[[], Backend]]:
    """Return the backends this plugin provides, as classes or factories.

    They are instantiated lazily, the first time the backend is used; an
    instantiation that raises makes the backend *unavailable* with that reason.

    .. versionadded:: 0.1
    """


@hookspec
def layerkit_kernels(backend: Backend) -> Mapping[str, Callable[..., Any]] | None:
    """Return kernels to add to or override in ``backend``'s table, or None.

    Called once per backend, when it is created. The first non-None result in
    pluggy's call order wins for each kernel name (``tryfirst`` first).

    .. versionadded:: 0.1
    """
