"""The backend contract: the :class:`Backend` base class, the plugin hooks,
the registry that finds and selects backends, and the generic kernels.

**The plugin API** is the names in :data:`PLUGIN_API`, imported from this
module (``from layerkit.backend import ...``) and from nowhere else in
layerkit; ``docs/writing-a-backend.md`` documents each, and
``tests/backend/test_plugin_api.py`` checks that the shipped plugins keep to
them. The other names here (the registry's) are for layerkit itself, its CLI
and user code.
"""
from __future__ import annotations

from .base import Backend, BackendUnavailable
from .fusion import FusedElemwise
from .hookspecs import hookimpl, hookspec
from .host import host_backend
from .kernels import GENERIC_KERNELS, KERNEL_NAMES
from .kernels.conv import ConvGeometry
from .kernels.pool import check_pool_params, pool_divisors, pool_geometry
from .kernels.random import SPLITMIX, mix64, seed_for
from .kernels.subtensor import nonnegative_indices
from .registry import (NoBackendError, backend_names, backend_status, current_backend_name,
                       get_backend, plugin_errors, register_plugin, use)

#: everything a plugin may import from layerkit, all from ``layerkit.backend``
PLUGIN_API = (
    # a backend and its hooks
    "Backend", "BackendUnavailable", "hookimpl",
    # the generic kernels by name: to fall back to, or to wrap
    "GENERIC_KERNELS", "KERNEL_NAMES",
    # the spec Backend.fuse receives
    "FusedElemwise",
    # the generic kernels' rules, shared so a backend's own kernel agrees with them
    "ConvGeometry", "check_pool_params", "pool_geometry", "pool_divisors",
    "nonnegative_indices", "seed_for", "mix64", "SPLITMIX",
)

__all__ = [*PLUGIN_API, "PLUGIN_API", "hookspec", "get_backend", "use", "backend_names",
           "backend_status", "plugin_errors", "current_backend_name", "host_backend",
           "NoBackendError", "register_plugin"]
