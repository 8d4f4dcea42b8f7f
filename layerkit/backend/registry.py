"""Plugin discovery and backend selection (the typed facade over pluggy).

Entry points in the group ``layerkit`` are walked one by one, so a plugin
that fails to import is recorded with its error and skipped; backends are
created on first use, and one that cannot run here is reported unavailable
with the reason. Nothing here is ever fatal to ``import layerkit``.
"""
from __future__ import annotations

import contextvars
import importlib
import os
from dataclasses import dataclass
from difflib import get_close_matches
from importlib import metadata
from typing import Any, Callable

import pluggy

from . import hookspecs
from .base import Backend

__all__ = ["get_backend", "use", "backend_names", "backend_status", "plugin_errors",
           "current_backend_name", "register_plugin", "reset", "BackendRecord", "PluginProblem",
           "NoBackendError"]

GENERIC_PROVIDER = "layerkit (generic)"
_SELECTED: contextvars.ContextVar[str | None] = contextvars.ContextVar("layerkit_backend",
                                                                        default=None)


class NoBackendError(RuntimeError):
    """No backend could be found or created."""


@dataclass
class PluginProblem:
    """A plugin that was skipped: broken on import, disabled, or malformed."""

    name: str
    distribution: str
    reason: str


@dataclass
class BackendRecord:
    """A discovered backend: its factory, and once created, the instance or the failure."""

    name: str
    factory: Callable[[], Backend]
    distribution: str
    instance: Backend | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        if self.instance is not None:
            return "available"
        return "unavailable" if self.error else "not created"


class _Registry:
    def __init__(self) -> None:
        self.pm: pluggy.PluginManager | None = None
        self.records: dict[str, BackendRecord] = {}
        self.problems: list[PluginProblem] = []
        self.plugin_dists: dict[int, str] = {}
        self.extra: list[tuple[Any, str, str]] = []

    # -- discovery ------------------------------------------------------
    def discover(self) -> pluggy.PluginManager:
        if self.pm is not None:
            return self.pm
        pm = pluggy.PluginManager("layerkit")
        pm.add_hookspecs(hookspecs)
        self.pm = pm
        disabled = {s.strip() for s in os.environ.get("LAYERKIT_DISABLE_PLUGINS", "").split(",")
                    if s.strip()}
        for ep in sorted(metadata.entry_points(group="layerkit"), key=lambda e: e.name):
            dist = ep.dist.name if getattr(ep, "dist", None) is not None else "?"
            if ep.name in disabled or dist in disabled:
                self.problems.append(PluginProblem(ep.name, dist, "disabled by LAYERKIT_DISABLE_PLUGINS"))
                continue
            try:
                plugin = ep.load()
            except Exception as err:  # a broken plugin is reported, never fatal
                self.problems.append(PluginProblem(ep.name, dist, f"import failed: "
                                                   f"{type(err).__name__}: {err}"))
                continue
            self._add(plugin, ep.name, dist)
        for plugin, name, dist in self.extra:
            self._add(plugin, name, dist)
        return pm

    def _add(self, plugin: Any, name: str, dist: str) -> None:
        assert self.pm is not None
        try:
            self.pm.register(plugin, name=name)
        except Exception as err:
            self.problems.append(PluginProblem(name, dist, f"could not register: {err}"))
            return
        self.plugin_dists[id(plugin)] = dist
        impls = [i for i in self.pm.hook.layerkit_backends.get_hookimpls() if i.plugin is plugin]
        for impl in impls:
            try:
                provided = list(impl.function() or [])
            except Exception as err:
                self.problems.append(PluginProblem(name, dist, f"layerkit_backends() failed: "
                                                   f"{type(err).__name__}: {err}"))
                continue
            for factory in provided:
                bname = getattr(factory, "name", None) or getattr(factory, "__name__", str(factory))
                if bname in self.records:
                    self.problems.append(PluginProblem(name, dist, f"backend {bname!r} is "
                                         f"already provided by {self.records[bname].distribution}"))
                    continue
                self.records[bname] = BackendRecord(bname, factory, dist)

    # -- creation -------------------------------------------------------
    def create(self, record: BackendRecord) -> Backend:
        if record.instance is not None:
            return record.instance
        if record.error is not None:
            raise NoBackendError(f"backend {record.name!r} is unavailable: {record.error}")
        try:
            backend = record.factory()
            if not isinstance(backend, Backend):
                raise TypeError(f"the factory returned {type(backend).__name__}, not a Backend")
            self._fill_kernels(backend, record)
        except Exception as err:
            record.error = f"{type(err).__name__}: {err}"
            raise NoBackendError(f"backend {record.name!r} is unavailable: {record.error}") from err
        record.instance = backend
        return backend

    def _fill_kernels(self, backend: Backend, record: BackendRecord) -> None:
        from .kernels import GENERIC_KERNELS
        table = dict(GENERIC_KERNELS)
        providers = dict.fromkeys(GENERIC_KERNELS, GENERIC_PROVIDER)
        for kname, fn in type(backend).kernels.items():
            table[kname] = fn
            providers[kname] = record.distribution
        assert self.pm is not None
        overridden: set[str] = set()
        # pluggy calls hooks LIFO, tryfirst first; the first result per name wins
        for impl in self._ordered_kernel_impls():
            dist = self.plugin_dists.get(id(impl.plugin), impl.plugin_name)
            try:
                result = impl.function(backend=backend)
            except Exception as err:
                self.problems.append(PluginProblem(impl.plugin_name, dist,
                                     f"layerkit_kernels failed: {type(err).__name__}: {err}"))
                continue
            if result is None:
                continue
            if not hasattr(result, "items") or not all(
                    isinstance(k, str) and callable(v) for k, v in result.items()):
                self.problems.append(PluginProblem(impl.plugin_name, dist,
                                     "malformed kernel table: layerkit_kernels must return a "
                                     "mapping of kernel names to callables (skipped)"))
                continue
            for kname, fn in result.items():
                if kname in overridden:
                    continue
                overridden.add(kname)
                table[kname] = fn
                providers[kname] = dist
        backend.kernel_table.update(table)
        backend.kernel_providers.update(providers)

    def _ordered_kernel_impls(self):
        """Implementations in pluggy's call order (tryfirst first, then last registered)."""
        assert self.pm is not None
        return list(reversed(self.pm.hook.layerkit_kernels.get_hookimpls()))


_REGISTRY = _Registry()


def reset() -> None:
    """Forget discovered plugins and created backends (for tests)."""
    global _REGISTRY
    extra = _REGISTRY.extra
    _REGISTRY = _Registry()
    _REGISTRY.extra = extra


def register_plugin(plugin: Any, name: str, distribution: str | None = None) -> None:
    """Register an in-process plugin (a module or object with hook implementations)."""
    _REGISTRY.extra.append((plugin, name, distribution or name))
    if _REGISTRY.pm is not None:
        _REGISTRY._add(plugin, name, distribution or name)


def unregister_plugin(name: str) -> None:
    _REGISTRY.extra = [e for e in _REGISTRY.extra if e[1] != name]
    reset()


def backend_names() -> list[str]:
    """Names of every discovered backend, available or not."""
    _REGISTRY.discover()
    return sorted(_REGISTRY.records)


def plugin_errors() -> list[PluginProblem]:
    _REGISTRY.discover()
    return list(_REGISTRY.problems)


def backend_status(create: bool = True) -> list[BackendRecord]:
    """Every backend's record; with ``create``, each is tried so its status is known."""
    _REGISTRY.discover()
    if create:
        for record in _REGISTRY.records.values():
            try:
                _REGISTRY.create(record)
            except NoBackendError:
                pass
    return [_REGISTRY.records[k] for k in sorted(_REGISTRY.records)]


def current_backend_name() -> str:
    """The backend a ``function(backend=None)`` gets now (DESIGN 4a's order)."""
    from ..core.config import parse_flags
    name = _SELECTED.get()
    if name:
        return name
    env = os.environ.get("LAYERKIT_BACKEND", "").strip()
    if env:
        return env
    flags = parse_flags(os.environ.get("LAYERKIT_FLAGS", ""))
    return flags.get("backend") or "numpy"


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name`` (default: the current selection), created if needed."""
    _REGISTRY.discover()
    name = name or current_backend_name()
    record = _REGISTRY.records.get(name)
    if record is None:
        if not _REGISTRY.records:
            raise NoBackendError(
                "no layerkit backend is installed; install the numpy backend with "
                "`pip install layerkit[numpy]` (from a checkout: "
                "`pip install ./plugins/numpy_backend`)")
        names = sorted(_REGISTRY.records)
        near = get_close_matches(name, names, n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown backend {name!r}; available backends: "
                         f"{', '.join(names)}.{hint}")
    return _REGISTRY.create(record)


class use:  # noqa: N801 - used like a function, as in Theano/thinc
    """Select the default backend: ``layerkit.use("cupy")``, or ``with layerkit.use("cupy"):``."""

    def __init__(self, name: str) -> None:
        get_backend(name)  # fail here, naming the choices, on a bad name
        self._token = _SELECTED.set(name)

    def __enter__(self) -> "use":
        return self

    def __exit__(self, *exc) -> None:
        _SELECTED.reset(self._token)
