"""Plugin discovery and backend selection: a typed facade over pluggy.

Entry points in the group ``layerkit`` are walked one by one (not through
pluggy's own loader, which lets import errors through), so a plugin that
fails to import is recorded with its error and skipped. Backends are created
on first use and cached; one that cannot run here (cupy without a GPU) is
reported *unavailable* with the reason. Nothing here is ever fatal to
``import layerkit``.

The functions of this module are the only way the rest of layerkit reaches
plugins; nothing else calls ``pm.hook`` directly.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
import threading
from dataclasses import dataclass, field
from difflib import get_close_matches
from importlib import metadata
from typing import Any, Callable, Iterator, Mapping

import pluggy

from ..flags import ENV_FLAGS, environment_flags
from . import hookspecs
from .base import Backend, BackendUnavailable
from .kernels import GENERIC_KERNELS

__all__ = [
    "get_backend", "use", "backend_names", "backend_status", "plugin_errors",
    "current_backend_name", "register_plugin", "unregister_plugin", "reset", "isolated",
    "BackendRecord", "PluginProblem", "NoBackendError", "GENERIC_PROVIDER", "DEFAULT_BACKEND",
]

#: the provider shown for kernels that come from ``layerkit.backend.kernels``
GENERIC_PROVIDER = "layerkit (generic)"
#: the backend used when nothing selects one
DEFAULT_BACKEND = "numpy"
#: environment variables read by the selection (decision D8)
ENV_BACKEND = "LAYERKIT_BACKEND"
ENV_DISABLE = "LAYERKIT_DISABLE_PLUGINS"

_SELECTED: contextvars.ContextVar[str | None] = contextvars.ContextVar("layerkit_backend",
                                                                        default=None)


class NoBackendError(RuntimeError):
    """The requested backend is unavailable here, or no backend is installed."""


@dataclass
class PluginProblem:
    """A plugin that was skipped or misbehaved: broken, disabled, or malformed."""

    #: the entry-point name (or the name given to :func:`register_plugin`)
    name: str
    #: the distribution that ships it
    distribution: str
    #: what went wrong, in words
    reason: str


@dataclass
class BackendRecord:
    """One discovered backend; once tried, its instance or the reason it failed."""

    name: str
    #: the class or factory named by ``layerkit_backends``
    factory: Callable[[], Backend] = field(repr=False)
    #: the distribution providing the backend (shown as provider of its own kernels)
    distribution: str
    instance: Backend | None = None
    error: str | None = None

    @property
    def status(self) -> str:
        """``'available'``, ``'unavailable'`` or ``'not created'`` (not tried yet)."""
        if self.instance is not None:
            return "available"
        return "unavailable" if self.error is not None else "not created"

    @property
    def reason(self) -> str | None:
        """Why the backend is unavailable (None when it is not)."""
        return self.error

    @property
    def version(self) -> str | None:
        if self.instance is not None:
            return str(self.instance.version)
        return str(getattr(self.factory, "version", "")) or None

    @property
    def device(self) -> str | None:
        return self.instance.device if self.instance is not None else None


def _backend_name(factory: Any) -> str:
    name = getattr(factory, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{factory!r} has no 'name' attribute; layerkit_backends must return "
                        f"Backend subclasses or factories carrying a 'name'")
    return name


def _describe(err: BaseException) -> str:
    # a BackendUnavailable message is written for users: show it as is
    if isinstance(err, BackendUnavailable):
        return str(err)
    return f"{type(err).__name__}: {err}"


def _disabled_names() -> set[str]:
    return {s.strip() for s in os.environ.get(ENV_DISABLE, "").split(",") if s.strip()}


class _Registry:
    """The state behind the module functions; :func:`reset` replaces it."""

    def __init__(self, extra: list[tuple[Any, str, str]] | None = None) -> None:
        self.pm: pluggy.PluginManager | None = None
        self.records: dict[str, BackendRecord] = {}
        self.problems: list[PluginProblem] = []
        self.plugin_dists: dict[str, str] = {}   # registered plugin name -> distribution
        self.extra: list[tuple[Any, str, str]] = list(extra or [])
        self.lock = threading.RLock()

    # -- discovery ------------------------------------------------------
    def discover(self) -> pluggy.PluginManager:
        with self.lock:
            if self.pm is not None:
                return self.pm
            pm = pluggy.PluginManager("layerkit")
            pm.add_hookspecs(hookspecs)
            self.pm = pm
            try:
                self._walk(pm)
            except BaseException:
                # KeyboardInterrupt or SystemExit during a plugin's import or its
                # layerkit_backends(): let it stop this call, but leave nothing
                # half-built behind, so that the next call discovers from scratch
                # (a cached, partly filled registry would say "no backend is
                # installed" for the rest of the process)
                self.pm = None
                self.records = {}
                self.problems = []
                self.plugin_dists = {}
                raise
            return pm

    def _walk(self, pm: pluggy.PluginManager) -> None:
        disabled = _disabled_names()
        for ep in sorted(metadata.entry_points(group="layerkit"), key=lambda e: e.name):
            dist = ep.dist.name if getattr(ep, "dist", None) is not None else "<unknown>"
            if ep.name in disabled or dist in disabled:
                self.problems.append(PluginProblem(ep.name, dist,
                                                   f"disabled by {ENV_DISABLE}"))
                continue
            try:
                plugin = ep.load()
            except Exception as err:  # a broken plugin is reported, never fatal
                self.problems.append(PluginProblem(
                    ep.name, dist, f"failed to import {ep.value!r}: {_describe(err)}"))
                continue
            self._add(plugin, ep.name, dist)
        for plugin, name, dist in self.extra:
            if name in disabled or dist in disabled:
                self.problems.append(PluginProblem(name, dist, f"disabled by {ENV_DISABLE}"))
                continue
            self._add(plugin, name, dist)

    def _add(self, plugin: Any, name: str, dist: str) -> None:
        assert self.pm is not None
        try:
            self.pm.register(plugin, name=name)
        except Exception as err:  # pluggy validates hook names and signatures here
            self.problems.append(PluginProblem(name, dist, f"could not be registered: "
                                                           f"{_describe(err)}"))
            return
        self.plugin_dists[name] = dist
        # pluggy accepts hooks it has no spec for (pending); a misspelt hook would
        # otherwise be silently ignored, so name it (the plugin still loads)
        for caller in self.pm.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("layerkit_")))
                self.problems.append(PluginProblem(
                    name, dist, f"implements unknown hook {caller.name!r} (ignored); "
                                f"the hooks are: {known}"))
        for impl in self.pm.hook.layerkit_backends.get_hookimpls():
            if impl.plugin_name != name:
                continue
            try:
                provided = list(impl.function() or [])
            except Exception as err:
                self.problems.append(PluginProblem(name, dist, f"layerkit_backends() failed: "
                                                               f"{_describe(err)}"))
                continue
            for factory in provided:
                try:
                    bname = _backend_name(factory)
                except TypeError as err:
                    self.problems.append(PluginProblem(name, dist, str(err)))
                    continue
                if bname in self.records:
                    self.problems.append(PluginProblem(
                        name, dist, f"backend {bname!r} is already provided by "
                                    f"{self.records[bname].distribution}; this one is ignored"))
                    continue
                self.records[bname] = BackendRecord(bname, factory, dist)

    # -- creation -------------------------------------------------------
    def create(self, record: BackendRecord) -> Backend:
        with self.lock:
            if record.instance is not None:
                return record.instance
            if record.error is None:
                try:
                    backend = record.factory()
                    if not isinstance(backend, Backend):
                        raise TypeError(f"the factory returned {type(backend).__name__}, "
                                        f"not a layerkit.backend.Backend")
                    if backend.name != record.name:
                        raise TypeError(f"the factory for {record.name!r} made a backend "
                                        f"named {backend.name!r}")
                    self._fill_kernels(backend, record)
                except Exception as err:  # unavailable, with the reason; never fatal
                    record.error = _describe(err)
                else:
                    record.instance = backend
                    return backend
            raise NoBackendError(f"backend {record.name!r} (from {record.distribution}) is "
                                 f"unavailable: {record.error}")

    def _fill_kernels(self, backend: Backend, record: BackendRecord) -> None:
        table: dict[str, Callable[..., Any]] = dict(GENERIC_KERNELS)
        providers = dict.fromkeys(GENERIC_KERNELS, GENERIC_PROVIDER)
        for kname, fn in type(backend).kernels.items():
            table[kname] = fn
            providers[kname] = record.distribution
        # the names a hook may give: the generic kernels' and any the backend class
        # adds for its own use; nothing else would ever call another name
        known = set(table)
        problems: list[PluginProblem] = []  # kept until the end: an interrupt adds none
        won: set[str] = set()
        for impl in self._kernel_impls_in_call_order():
            dist = self.plugin_dists.get(impl.plugin_name, impl.plugin_name)
            kwargs = {arg: backend for arg in impl.argnames}  # an impl may omit `backend`
            try:
                result = impl.function(**kwargs)
            except Exception as err:
                problems.append(PluginProblem(
                    impl.plugin_name, dist,
                    f"layerkit_kernels(backend={backend.name!r}) failed: {_describe(err)}"))
                continue
            if result is None:
                continue
            bad = _malformed(result)
            if bad:
                problems.append(PluginProblem(
                    impl.plugin_name, dist,
                    f"malformed kernel table for backend {backend.name!r} ({bad}); "
                    f"layerkit_kernels must return a mapping of kernel names to callables, "
                    f"or None; its kernels were skipped"))
                continue
            for kname, fn in result.items():
                if kname not in known:
                    problems.append(PluginProblem(
                        impl.plugin_name, dist, _unknown_kernel(kname, known, backend.name)))
                    continue
                if kname not in won:  # the first result in call order wins
                    won.add(kname)
                    table[kname] = fn
                    providers[kname] = dist
        backend.kernel_table.update(table)
        backend.kernel_providers.update(providers)
        self.problems.extend(problems)

    def _kernel_impls_in_call_order(self) -> list[Any]:
        # pluggy stores implementations trylast-first and calls them from the
        # end (tryfirst, then the most recently registered); wrappers only wrap
        assert self.pm is not None
        impls = self.pm.hook.layerkit_kernels.get_hookimpls()
        return [i for i in reversed(impls)
                if not (getattr(i, "hookwrapper", False) or getattr(i, "wrapper", False))]


def _unknown_kernel(kname: str, known: set[str], backend: str) -> str:
    """The problem recorded for a ``layerkit_kernels`` result naming no known kernel."""
    near = get_close_matches(kname, sorted(known), n=1, cutoff=0.6)
    hint = f"; did you mean {near[0]!r}?" if near else (
        "; the kernel names are those of layerkit.backend.GENERIC_KERNELS (docs/kernels.md) "
        "and the backend class's own kernels")
    return (f"layerkit_kernels(backend={backend!r}) returned a kernel named {kname!r}, which "
            f"no layerkit op calls (ignored){hint}")


def _malformed(result: Any) -> str | None:
    """What is wrong with a ``layerkit_kernels`` result, or None when it is fine."""
    if not isinstance(result, Mapping):
        return f"got {type(result).__name__}, not a mapping"
    for kname, fn in result.items():
        if not isinstance(kname, str):
            return f"key {kname!r} is not a string"
        if not callable(fn):
            return f"{kname!r} maps to {type(fn).__name__}, which is not callable"
    return None


_REGISTRY = _Registry()


def reset() -> None:
    """Forget discovered plugins, created backends and registered plugins (for tests)."""
    global _REGISTRY
    _REGISTRY = _Registry()


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """A fresh registry and no ``use()`` selection inside the block (for tests).

    Discovery starts again inside (so monkeypatched entry points and
    :func:`register_plugin` calls apply); afterwards the previous registry,
    with the backends it had created, and the previous selection come back.
    """
    global _REGISTRY
    saved = _REGISTRY
    token = _SELECTED.set(None)
    _REGISTRY = _Registry()
    try:
        yield
    finally:
        _REGISTRY = saved
        _SELECTED.reset(token)


def register_plugin(plugin: Any, name: str, dist: str | None = None) -> None:
    """Register an in-process plugin: a module or object with hook implementations.

    It joins the entry-point plugins (registered after them, so pluggy calls
    its hooks first). Already-created backends keep their kernel tables; call
    :func:`reset` first, or register before first use, to have it apply.
    """
    with _REGISTRY.lock:
        entry = (plugin, name, dist or name)
        _REGISTRY.extra.append(entry)
        if _REGISTRY.pm is not None:
            _REGISTRY._add(*entry)


def unregister_plugin(name: str) -> None:
    """Remove a plugin given to :func:`register_plugin`; discovery restarts on next use."""
    global _REGISTRY
    _REGISTRY = _Registry([e for e in _REGISTRY.extra if e[1] != name])


def backend_names() -> list[str]:
    """Names of every discovered backend, available or not (none are created)."""
    _REGISTRY.discover()
    return sorted(_REGISTRY.records)


def plugin_errors() -> list[PluginProblem]:
    """Plugins that failed to import or register, were disabled, or returned bad data."""
    _REGISTRY.discover()
    return list(_REGISTRY.problems)


def backend_status(create: bool = True) -> list[BackendRecord]:
    """A record per discovered backend, sorted by name.

    With ``create`` (the default) each backend is tried, so that the status
    is ``'available'`` or ``'unavailable'`` with its reason; without it,
    backends not yet used are ``'not created'``.
    """
    _REGISTRY.discover()
    if create:
        for record in list(_REGISTRY.records.values()):
            try:
                _REGISTRY.create(record)
            except NoBackendError:
                pass
    return [_REGISTRY.records[k] for k in sorted(_REGISTRY.records)]


def _selection() -> tuple[str, str]:
    """The current backend name and where it came from (in the order of decision D8)."""
    name = _SELECTED.get()
    if name:
        return name, "layerkit.use()"
    env = os.environ.get(ENV_BACKEND, "").strip()
    if env:
        return env, f"the environment variable {ENV_BACKEND}"
    flag = environment_flags().get("backend", "").strip()
    if flag:
        return flag, f"{ENV_FLAGS}"
    return DEFAULT_BACKEND, "the default"


def current_backend_name() -> str:
    """The backend ``get_backend()`` (and ``function(backend=None)``) gets now."""
    return _selection()[0]


def get_backend(name: str | None = None) -> Backend:
    """The backend called ``name`` (default: the current selection), created once and cached.

    Raises ``ValueError`` for a name no plugin provides (listing those that
    exist), :class:`NoBackendError` when the backend cannot run here (with the
    reason) or when no backend is installed at all.
    """
    if name:
        source = "the argument"
    else:
        name, source = _selection()
    reg = _REGISTRY
    reg.discover()
    record = reg.records.get(name)
    if record is None:
        raise _unknown_backend(reg, name, source)
    return reg.create(record)


def _unknown_backend(reg: _Registry, name: str, source: str) -> Exception:
    skipped = [p for p in reg.problems if name in (p.name, p.distribution)]
    notes = "".join(f" The plugin {p.name!r} ({p.distribution}) that may provide it was "
                    f"skipped: {p.reason}." for p in skipped)
    if not reg.records:
        return NoBackendError(
            f"no layerkit backend is installed (asked for {name!r} by {source}). Install the "
            f"numpy backend: `pip install layerkit[numpy]`, or from a checkout "
            f"`pip install ./plugins/numpy_backend`.{notes}")
    names = sorted(reg.records)
    near = get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    return ValueError(f"unknown backend {name!r} (from {source}); available backends: "
                      f"{', '.join(names)}.{hint}{notes}")


class use:  # noqa: N801 - a function to its users, as Theano's and thinc's are
    """Select the default backend.

    ``layerkit.use("cupy")`` sets it for the rest of the program (the current
    context); ``with layerkit.use("cupy"): ...`` sets it for the block and
    then restores the previous choice. ``use(None)`` clears the choice, so the
    environment variables and the default apply again. The name is checked at
    once, so a typo fails here with the list of backends.
    """

    def __init__(self, name: str | None) -> None:
        if name is not None:
            get_backend(name)
        self.name = name
        self._token = _SELECTED.set(name)

    def __enter__(self) -> "use":
        return self

    def __exit__(self, *exc: object) -> None:
        _SELECTED.reset(self._token)

    def __repr__(self) -> str:
        return f"use({self.name!r})"
