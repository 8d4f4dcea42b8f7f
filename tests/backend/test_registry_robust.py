"""Discovery that survives an interrupted plugin import, and kernel tables naming
kernels no op calls (issue 16, items 10 and 11).

Entry points are faked as in ``test_registry.py`` (decision D16): the registry's
``metadata`` is replaced by an object listing fake entry points, the real
``numpy`` one kept.
"""
from __future__ import annotations

import importlib
import sys
import types
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from layerkit.backend import GENERIC_KERNELS, Backend, hookimpl, registry
from layerkit.backend.registry import (backend_names, backend_status, get_backend,
                                       plugin_errors, register_plugin)
from layerkit.cli import main

ROOT = Path(__file__).resolve().parents[2]


class FakeEntryPoint:
    """What the registry reads of an entry point; ``load`` raises ``errors`` in turn."""

    def __init__(self, name, dist, target=None, errors=()):
        self.name, self.target, self.errors = name, target, list(errors)
        self.dist = types.SimpleNamespace(name=dist)
        self.value = f"{dist.replace('-', '_')}.plugin"
        self.group = "layerkit"
        self.loads = 0

    def load(self):
        self.loads += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.target


@pytest.fixture
def plugins(monkeypatch):
    for var in ("LAYERKIT_BACKEND", "LAYERKIT_FLAGS", "LAYERKIT_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    real = [ep for ep in metadata.entry_points(group="layerkit") if ep.name == "numpy"]
    state = types.SimpleNamespace(eps=list(real))

    def install(*eps):
        state.eps = list(real) + list(eps)
        registry.reset()

    monkeypatch.setattr(registry, "metadata", types.SimpleNamespace(
        entry_points=lambda group: list(state.eps)))
    with registry.isolated():
        yield types.SimpleNamespace(install=install)


def module(name, **hooks):
    m = types.ModuleType(name)
    for k, v in hooks.items():
        setattr(m, k, v)
    return m


class AcmeBackend(Backend):
    name = "acme"
    version = "1"
    xp = np


def acme_plugin():
    @hookimpl
    def layerkit_backends():
        return [AcmeBackend]
    return module("acme", layerkit_backends=layerkit_backends)


# -- item 10: an interrupted import --------------------------------------------
@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), SystemExit(3)],
                         ids=["KeyboardInterrupt", "SystemExit"])
def test_an_interrupted_plugin_import_stops_one_call_and_the_next_discovers(plugins, interrupt):
    # "zz" sorts after "numpy": the numpy plugin is registered before the interrupt
    acme = FakeEntryPoint("zz-acme", "layerkit-acme", acme_plugin(), errors=[interrupt])
    plugins.install(acme)
    with pytest.raises(type(interrupt)):
        get_backend("numpy")
    # the next call walks the entry points again: numpy is found, acme imports now
    assert get_backend("numpy").name == "numpy"
    assert backend_names() == ["acme", "numpy"]
    assert acme.loads == 2
    assert plugin_errors() == []      # nothing half-recorded from the interrupted walk
    assert get_backend("acme").name == "acme"


def test_an_interrupt_before_any_backend_does_not_leave_no_backend_installed(plugins):
    # "a" sorts before "numpy": the interrupt comes before any backend is recorded
    plugins.install(FakeEntryPoint("a-slow", "layerkit-slow", module("slow"),
                                   errors=[KeyboardInterrupt()]))
    with pytest.raises(KeyboardInterrupt):
        backend_names()
    assert backend_names() == ["numpy"]
    assert np.asarray(get_backend().kernel("add")(np.ones(2), np.ones(2))).tolist() == [2, 2]


def test_an_interrupt_inside_layerkit_backends_is_not_cached_either(plugins):
    calls = []

    @hookimpl
    def layerkit_backends():
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return [AcmeBackend]

    plugins.install(FakeEntryPoint("acme", "layerkit-acme",
                                   module("acme", layerkit_backends=layerkit_backends)))
    with pytest.raises(KeyboardInterrupt):
        get_backend("acme")
    assert get_backend("acme").name == "acme"
    assert plugin_errors() == []


def test_an_ordinary_import_error_is_still_recorded_once_and_not_retried(plugins):
    broken = FakeEntryPoint("broken", "layerkit-broken", errors=[ImportError("no module x")])
    plugins.install(broken)
    assert backend_names() == ["numpy"]
    assert backend_names() == ["numpy"]
    assert broken.loads == 1
    (problem,) = plugin_errors()
    assert "no module x" in problem.reason


# -- item 11: unknown kernel names ----------------------------------------------
def tanh(x):
    return np.tanh(x)


def kernels_plugin(name, table, only="numpy"):
    @hookimpl
    def layerkit_kernels(backend):
        return table if backend.name == only else None
    return module(name, layerkit_kernels=layerkit_kernels)


def test_a_misspelt_kernel_name_is_reported_with_the_near_miss_and_skipped(plugins):
    plugins.install(FakeEntryPoint("typo", "layerkit-typo", kernels_plugin(
        "typo", {"tanhh": tanh, "exp": np.exp})))
    b = get_backend("numpy")
    assert "tanhh" not in b.kernel_table
    assert b.kernel_providers["tanh"] != "layerkit-typo"
    assert b.kernel_providers["exp"] == "layerkit-typo"    # the good names still apply
    (problem,) = plugin_errors()
    assert (problem.name, problem.distribution) == ("typo", "layerkit-typo")
    assert "'tanhh'" in problem.reason
    assert "did you mean 'tanh'?" in problem.reason
    assert "backend='numpy'" in problem.reason


def test_an_unknown_kernel_name_without_a_near_miss_points_to_the_list(plugins):
    plugins.install(FakeEntryPoint("odd", "layerkit-odd", kernels_plugin(
        "odd", {"frobnicate_everything": tanh})))
    get_backend("numpy")
    (problem,) = plugin_errors()
    assert "'frobnicate_everything'" in problem.reason
    assert "GENERIC_KERNELS" in problem.reason


def test_the_unknown_kernel_is_shown_by_layerkit_backends(plugins, capsys):
    plugins.install(FakeEntryPoint("typo", "layerkit-typo", kernels_plugin(
        "typo", {"tanhh": tanh})))
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    assert "Plugins skipped or misbehaving:" in out
    line = next(line for line in out.splitlines() if "typo (layerkit-typo)" in line)
    assert "'tanhh'" in line and "did you mean 'tanh'?" in line


def own_gemm(a, b):
    return a @ b


class GemmBackend(Backend):
    """A backend adding a kernel of its own (for its own fuse, say) to the generic ones."""

    name = "gemmy"
    version = "1"
    xp = np
    kernels = {"gemmy_fused_gemm": own_gemm}


def test_a_kernel_the_backend_adds_for_itself_may_be_overridden_without_a_report(plugins):
    assert "gemmy_fused_gemm" not in GENERIC_KERNELS

    @hookimpl
    def layerkit_backends():
        return [GemmBackend]

    def faster(a, b):
        return np.matmul(a, b)

    plugins.install(
        FakeEntryPoint("gemmy", "layerkit-gemmy", module("gemmy", layerkit_backends=layerkit_backends)),
        FakeEntryPoint("gemmy-fast", "layerkit-gemmy-fast", kernels_plugin(
            "fast", {"gemmy_fused_gemm": faster}, only="gemmy")))
    b = get_backend("gemmy")
    assert b.kernel("gemmy_fused_gemm") is faster
    assert b.kernel_providers["gemmy_fused_gemm"] == "layerkit-gemmy-fast"
    assert plugin_errors() == []
    # the same name offered to a backend that does not have it is unknown there
    plugins.install(FakeEntryPoint("gemmy-fast", "layerkit-gemmy-fast", kernels_plugin(
        "fast", {"gemmy_fused_gemm": faster}, only="numpy")))
    get_backend("numpy")
    (problem,) = plugin_errors()
    assert "'gemmy_fused_gemm'" in problem.reason


def _import_from(src, name):
    path = str(ROOT / src)
    if path not in sys.path:
        sys.path.insert(0, path)
    try:
        return importlib.import_module(name)
    except ImportError as err:   # its optional dependency is missing here
        pytest.skip(f"{name} cannot be imported here: {err}")


@pytest.mark.parametrize("src, name", [
    ("examples/layerkit_numexpr/src", "layerkit_numexpr.plugin"),
    ("tests/plugins/layerkit_wrong_kernel/src", "layerkit_wrong_kernel"),
])
def test_the_shipped_kernel_plugins_name_only_known_kernels(src, name):
    plugin = _import_from(src, name)
    with registry.isolated():
        register_plugin(plugin, name=name, dist=name)
        backend_status()   # creates every installed backend: each hook runs
        unknown = [p for p in plugin_errors() if "no layerkit op calls" in p.reason]
    assert unknown == []


def test_the_installed_plugins_name_only_known_kernels():
    with registry.isolated():
        backend_status()
        unknown = [p for p in plugin_errors() if "no layerkit op calls" in p.reason]
    assert unknown == []
