"""The backend contract: the :class:`Backend` base class, the plugin hooks,
the registry that finds and selects backends, and the generic kernels.

This is everything a backend plugin imports from layerkit (DESIGN 2.2)::

    from layerkit.backend import Backend, BackendUnavailable, hookimpl
"""
from __future__ import annotations

from .base import Backend, BackendUnavailable
from .hookspecs import hookimpl, hookspec
from .host import host_backend
from .kernels import GENERIC_KERNELS
from .registry import (NoBackendError, backend_names, backend_status, current_backend_name,
                       get_backend, plugin_errors, register_plugin, use)

__all__ = ["Backend", "BackendUnavailable", "hookspec", "hookimpl", "get_backend", "use",
           "backend_names", "backend_status", "plugin_errors", "current_backend_name",
           "host_backend", "GENERIC_KERNELS", "NoBackendError", "register_plugin"]
