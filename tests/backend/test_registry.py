"""Plugin discovery and backend selection, with fake entry points.

Nothing is installed for these tests: ``importlib.metadata`` is replaced,
for the registry only, by a list of fake entry points (as pluggy's own
tests fake ``Distribution`` and ``EntryPoint``). The real ``numpy`` entry
point is kept where a test needs the numpy backend.
"""
from __future__ import annotations

import types
from dataclasses import dataclass
from importlib import metadata

import numpy as np
import pytest

from layerkit.backend import Backend, BackendUnavailable, hookimpl, registry
from layerkit.backend.registry import (GENERIC_PROVIDER, NoBackendError, backend_names,
                                       backend_status, current_backend_name, get_backend,
                                       plugin_errors, register_plugin, use)


# -- fakes ----------------------------------------------------------------
@dataclass
class FakeDist:
    name: str


@dataclass
class FakeEntryPoint:
    """Just what the registry reads of an ``importlib.metadata.EntryPoint``."""

    name: str
    dist: FakeDist
    target: object = None
    error: Exception | None = None
    group: str = "layerkit"

    @property
    def value(self) -> str:
        return f"{self.dist.name.replace('-', '_')}.plugin"

    def load(self):
        if self.error is not None:
            raise self.error
        return self.target


def make_plugin(name: str, **hooks) -> types.ModuleType:
    """A plugin module holding the given hook implementations."""
    module = types.ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, fn)
    return module


def backends_hook(*classes):
    @hookimpl
    def layerkit_backends():
        return list(classes)
    return layerkit_backends


def kernels_hook(table, only=None, **marker_options):
    @hookimpl(**marker_options)
    def layerkit_kernels(backend):
        if only is None or backend.name == only:
            return table
        return None
    return layerkit_kernels


def acme_matmul(a, b):
    return np.matmul(a, b)


class AcmeBackend(Backend):
    name = "acme"
    version = "1.2"
    xp = np
    kernels = {"matmul": acme_matmul}


class RoadrunnerBackend(Backend):
    name = "roadrunner"
    version = "0.3"
    xp = np


class NoGpuBackend(Backend):
    name = "nogpu"
    version = "9"
    xp = np

    def __init__(self):
        raise BackendUnavailable("no NoGPU device: driver not found")


class CrashingBackend(Backend):
    name = "crashing"
    version = "1"
    xp = np

    def __init__(self):
        1 / 0


@pytest.fixture
def plugins(monkeypatch):
    """Install fake entry points: ``plugins.install(ep, ...)``; the real numpy one stays.

    Inside the test the registry starts empty and discovers them; afterwards
    the previous registry (with the backends it had created) comes back.
    """
    monkeypatch.delenv("LAYERKIT_BACKEND", raising=False)
    monkeypatch.delenv("LAYERKIT_FLAGS", raising=False)
    monkeypatch.delenv("LAYERKIT_DISABLE_PLUGINS", raising=False)
    real = [ep for ep in metadata.entry_points(group="layerkit") if ep.name == "numpy"]
    state = types.SimpleNamespace(eps=list(real))

    def entry_points(group):
        assert group == "layerkit"
        return list(state.eps)

    def install(*eps, keep_numpy=True):
        state.eps = (list(real) if keep_numpy else []) + list(eps)
        registry.reset()

    monkeypatch.setattr(registry, "metadata", types.SimpleNamespace(entry_points=entry_points))
    with registry.isolated():
        yield types.SimpleNamespace(install=install)


def ep(name, dist, target=None, error=None):
    return FakeEntryPoint(name, FakeDist(dist), target, error)


def acme_plugin():
    return ep("acme", "layerkit-acme", make_plugin("acme", layerkit_backends=backends_hook(
        AcmeBackend)))


def by_name(records):
    return {r.name: r for r in records}


# -- discovery ------------------------------------------------------------
def test_good_plugin_is_discovered_and_created_lazily(plugins):
    made = []

    class CountingBackend(AcmeBackend):
        def __init__(self):
            made.append(1)
            super().__init__()

    plugins.install(ep("acme", "layerkit-acme", make_plugin(
        "acme", layerkit_backends=backends_hook(CountingBackend))))
    assert backend_names() == ["acme", "numpy"]
    assert by_name(backend_status(create=False))["acme"].status == "not created"
    assert made == []
    b = get_backend("acme")
    assert get_backend("acme") is b and made == [1]
    assert isinstance(b, CountingBackend)
    record = by_name(backend_status())["acme"]
    assert (record.status, record.version, record.distribution) == ("available", "1.2",
                                                                   "layerkit-acme")
    assert record.device == "cpu" and record.reason is None


def test_kernel_table_precedence_generic_then_class(plugins):
    from layerkit.backend.kernels import GENERIC_KERNELS

    plugins.install(acme_plugin())
    b = get_backend("acme")
    assert b.kernel("matmul") is acme_matmul
    assert b.kernel_providers["matmul"] == "layerkit-acme"
    assert b.kernel("softmax") is GENERIC_KERNELS["softmax"]
    assert b.kernel_providers["softmax"] == GENERIC_PROVIDER
    assert set(GENERIC_KERNELS) <= set(b.kernel_table)


def test_plugin_raising_on_import_is_reported_and_skipped(plugins):
    plugins.install(ep("broken", "layerkit-broken", error=ImportError("No module named 'zzz'")),
                    acme_plugin())
    assert backend_names() == ["acme", "numpy"]
    (problem,) = plugin_errors()
    assert (problem.name, problem.distribution) == ("broken", "layerkit-broken")
    assert "failed to import" in problem.reason and "No module named 'zzz'" in problem.reason
    assert get_backend("numpy").name == "numpy"  # everything else works


def test_plugin_raising_anything_on_import_is_not_fatal(plugins):
    plugins.install(ep("weird", "layerkit-weird", error=RuntimeError("boom at import")))
    assert backend_names() == ["numpy"]
    assert "RuntimeError: boom at import" in plugin_errors()[0].reason


def test_backend_raising_on_creation_is_unavailable_with_its_reason(plugins):
    plugins.install(ep("nogpu", "layerkit-nogpu", make_plugin(
        "nogpu", layerkit_backends=backends_hook(NoGpuBackend, CrashingBackend))))
    records = by_name(backend_status())
    assert records["nogpu"].status == "unavailable"
    assert records["nogpu"].reason == "no NoGPU device: driver not found"
    assert records["crashing"].status == "unavailable"
    assert "ZeroDivisionError" in records["crashing"].reason
    assert records["numpy"].status == "available"
    with pytest.raises(NoBackendError, match="unavailable: no NoGPU device"):
        get_backend("nogpu")
    with pytest.raises(NoBackendError, match="'crashing'.*ZeroDivisionError"):
        use("crashing")
    assert current_backend_name() == "numpy"


def test_backends_hook_raising_is_reported(plugins):
    @hookimpl
    def layerkit_backends():
        raise KeyError("oops")

    plugins.install(ep("bad", "layerkit-bad", make_plugin("bad",
                                                          layerkit_backends=layerkit_backends)))
    assert backend_names() == ["numpy"]
    assert "layerkit_backends() failed" in plugin_errors()[0].reason


@pytest.mark.parametrize("disable", ["acme", "layerkit-acme", " numpy , acme "])
def test_disabled_plugins_by_entry_point_or_distribution_name(plugins, monkeypatch, disable):
    monkeypatch.setenv("LAYERKIT_DISABLE_PLUGINS", disable)
    plugins.install(acme_plugin())
    assert "acme" not in backend_names()
    problems = by_name(plugin_errors())
    assert "disabled by LAYERKIT_DISABLE_PLUGINS" in problems["acme"].reason
    assert problems["acme"].distribution == "layerkit-acme"


def test_duplicate_backend_name_keeps_the_first(plugins):
    class OtherAcme(AcmeBackend):
        pass

    plugins.install(acme_plugin(), ep("zacme", "layerkit-zacme", make_plugin(
        "zacme", layerkit_backends=backends_hook(OtherAcme))))
    assert type(get_backend("acme")) is AcmeBackend
    assert "already provided by layerkit-acme" in by_name(plugin_errors())["zacme"].reason


def test_factory_without_name_is_reported(plugins):
    plugins.install(ep("anon", "layerkit-anon", make_plugin(
        "anon", layerkit_backends=backends_hook(lambda: AcmeBackend()))))
    assert backend_names() == ["numpy"]
    assert "no 'name' attribute" in plugin_errors()[0].reason


def test_factory_functions_carrying_a_name_are_accepted(plugins):
    def make():
        return AcmeBackend()
    make.name = "acme"
    plugins.install(ep("acme", "layerkit-acme", make_plugin(
        "acme", layerkit_backends=backends_hook(make))))
    assert get_backend("acme").name == "acme"


# -- kernel overrides through layerkit_kernels ------------------------------
def fast_matmul(a, b):
    return np.matmul(a, b)


def faster_matmul(a, b):
    return np.matmul(a, b)


def test_plugin_overriding_numpy_matmul_is_the_provider(plugins):
    plugins.install(ep("fastmm", "layerkit-fastmm", make_plugin(
        "fastmm", layerkit_kernels=kernels_hook({"matmul": fast_matmul}, only="numpy"))),
        acme_plugin())
    numpy_backend = get_backend("numpy")
    assert numpy_backend.kernel("matmul") is fast_matmul
    assert numpy_backend.kernel_providers["matmul"] == "layerkit-fastmm"
    assert numpy_backend.kernel_providers["exp"] == "layerkit-numpy"  # the rest untouched
    acme = get_backend("acme")  # the hook returned None for it
    assert acme.kernel_providers["matmul"] == "layerkit-acme"
    a = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(numpy_backend.kernel("matmul")(a, a.T), a @ a.T)


def test_first_result_in_pluggy_call_order_wins(plugins):
    plugins.install(
        ep("a-first", "layerkit-first", make_plugin("first", layerkit_kernels=kernels_hook(
            {"matmul": faster_matmul}, tryfirst=True))),
        ep("b-plain", "layerkit-plain", make_plugin("plain", layerkit_kernels=kernels_hook(
            {"matmul": fast_matmul, "exp": np.exp}))),
        ep("c-last", "layerkit-last", make_plugin("last", layerkit_kernels=kernels_hook(
            {"matmul": acme_matmul, "log": np.log}, trylast=True))))
    b = get_backend("numpy")
    assert b.kernel("matmul") is faster_matmul
    assert b.kernel_providers["matmul"] == "layerkit-first"
    assert b.kernel_providers["exp"] == "layerkit-plain"
    assert b.kernel_providers["log"] == "layerkit-last"  # no one else gave it


def test_later_registered_plugin_is_called_first(plugins):
    # pluggy calls plain implementations last-registered first
    plugins.install(
        ep("p1", "layerkit-p1", make_plugin("p1", layerkit_kernels=kernels_hook(
            {"matmul": fast_matmul}))),
        ep("p2", "layerkit-p2", make_plugin("p2", layerkit_kernels=kernels_hook(
            {"matmul": faster_matmul}))))
    assert get_backend("numpy").kernel_providers["matmul"] == "layerkit-p2"


@pytest.mark.parametrize("bad", [["matmul"], {"matmul": 3}, {1: fast_matmul}, "matmul"])
def test_malformed_kernel_table_is_reported_and_skipped(plugins, bad):
    plugins.install(
        ep("bad", "layerkit-bad", make_plugin("bad", layerkit_kernels=kernels_hook(bad))),
        ep("good", "layerkit-good", make_plugin("good", layerkit_kernels=kernels_hook(
            {"exp": np.exp}))))
    b = get_backend("numpy")
    assert b.kernel_providers["matmul"] == "layerkit-numpy"
    assert b.kernel_providers["exp"] == "layerkit-good"
    (problem,) = plugin_errors()
    assert (problem.name, problem.distribution) == ("bad", "layerkit-bad")
    assert "malformed kernel table for backend 'numpy'" in problem.reason


def test_kernels_hook_raising_is_reported_and_skipped(plugins):
    @hookimpl
    def layerkit_kernels(backend):
        raise RuntimeError("kernel setup failed")

    plugins.install(ep("bad", "layerkit-bad", make_plugin("bad",
                                                          layerkit_kernels=layerkit_kernels)))
    assert get_backend("numpy").kernel_providers["matmul"] == "layerkit-numpy"
    assert "kernel setup failed" in plugin_errors()[0].reason


def test_kernels_hook_may_leave_out_the_backend_argument(plugins):
    @hookimpl
    def layerkit_kernels():
        return {"matmul": fast_matmul}

    plugins.install(ep("all", "layerkit-all", make_plugin("all",
                                                          layerkit_kernels=layerkit_kernels)))
    assert get_backend("numpy").kernel("matmul") is fast_matmul


def test_register_plugin_directly(plugins):
    plugins.install()
    register_plugin(make_plugin("rr", layerkit_backends=backends_hook(RoadrunnerBackend)),
                    name="roadrunner", dist="layerkit-roadrunner")
    assert backend_names() == ["numpy", "roadrunner"]
    assert get_backend("roadrunner").kernel_providers["matmul"] == GENERIC_PROVIDER
    assert by_name(backend_status())["roadrunner"].distribution == "layerkit-roadrunner"
    registry.unregister_plugin("roadrunner")
    assert backend_names() == ["numpy"]


def test_plugin_with_a_misspelt_hook_is_reported(plugins):
    @hookimpl
    def layerkit_kernels(backend, extra):  # not the hookspec's signature
        return {}

    plugins.install(ep("typo", "layerkit-typo", make_plugin("typo",
                                                            layerkit_kernels=layerkit_kernels)))
    assert get_backend("numpy").name == "numpy"
    assert "could not be registered" in plugin_errors()[0].reason


def test_plugin_with_an_unknown_hook_is_reported_but_loads(plugins):
    @hookimpl
    def layerkit_backend():  # missing "s"
        return [AcmeBackend]

    plugins.install(ep("typo", "layerkit-typo", make_plugin(
        "typo", layerkit_backend=layerkit_backend, layerkit_backends=backends_hook(
            RoadrunnerBackend))))
    assert backend_names() == ["numpy", "roadrunner"]
    (problem,) = plugin_errors()
    assert "unknown hook 'layerkit_backend'" in problem.reason
    assert "layerkit_backends, layerkit_kernels" in problem.reason


# -- selection --------------------------------------------------------------
@pytest.fixture
def three(plugins):
    plugins.install(acme_plugin(), ep("rr", "layerkit-rr", make_plugin(
        "rr", layerkit_backends=backends_hook(RoadrunnerBackend))))


def test_default_is_numpy(three):
    assert current_backend_name() == "numpy"
    assert get_backend().name == "numpy"


def test_selection_order(three, monkeypatch):
    monkeypatch.setenv("LAYERKIT_FLAGS", "floatX=float64, backend=acme")
    assert get_backend().name == "acme"
    monkeypatch.setenv("LAYERKIT_BACKEND", "roadrunner")  # beats LAYERKIT_FLAGS
    assert get_backend().name == "roadrunner"
    with use("numpy"):  # beats the environment
        assert current_backend_name() == "numpy"
        assert get_backend().name == "numpy"
        assert get_backend("acme").name == "acme"  # the argument beats everything
        with use("acme"):
            assert get_backend().name == "acme"
        assert get_backend().name == "numpy"
    assert get_backend().name == "roadrunner"  # restored
    monkeypatch.delenv("LAYERKIT_BACKEND")
    assert get_backend().name == "acme"
    monkeypatch.delenv("LAYERKIT_FLAGS")
    assert get_backend().name == "numpy"


def test_use_as_a_plain_setter(three, monkeypatch):
    monkeypatch.setenv("LAYERKIT_BACKEND", "roadrunner")
    use("acme")
    assert current_backend_name() == "acme"
    use("numpy")
    assert get_backend().name == "numpy"
    use(None)  # back to the environment
    assert current_backend_name() == "roadrunner"


def test_layerkit_use_is_the_registry_use():
    import layerkit

    assert layerkit.use is use


def test_unknown_name_lists_backends_and_suggests_the_near_miss(three):
    with pytest.raises(ValueError) as info:
        get_backend("numpi")
    msg = str(info.value)
    assert "unknown backend 'numpi'" in msg
    assert "available backends: acme, numpy, roadrunner" in msg
    assert "Did you mean 'numpy'?" in msg
    with pytest.raises(ValueError, match="unknown backend 'road-runner'"):
        use("road-runner")
    assert current_backend_name() == "numpy"  # a failed use() changes nothing


def test_unknown_name_from_the_environment_says_where_it_came_from(three, monkeypatch):
    monkeypatch.setenv("LAYERKIT_BACKEND", "acne")
    with pytest.raises(ValueError, match="LAYERKIT_BACKEND.*Did you mean 'acme'"):
        get_backend()
    monkeypatch.delenv("LAYERKIT_BACKEND")
    monkeypatch.setenv("LAYERKIT_FLAGS", "backend=zzz")
    with pytest.raises(ValueError, match="'zzz' \\(from LAYERKIT_FLAGS\\)"):
        get_backend()


def test_unknown_name_of_a_skipped_plugin_says_why(plugins, monkeypatch):
    monkeypatch.setenv("LAYERKIT_DISABLE_PLUGINS", "numpy")
    plugins.install(acme_plugin())
    with pytest.raises(ValueError, match="plugin 'numpy' .* was skipped: disabled"):
        get_backend()


def test_no_backend_installed_says_what_to_install(plugins):
    plugins.install(keep_numpy=False)
    assert backend_names() == []
    with pytest.raises(NoBackendError) as info:
        get_backend()
    assert "no layerkit backend is installed" in str(info.value)
    assert "pip install layerkit[numpy]" in str(info.value)
    assert "pip install ./plugins/numpy_backend" in str(info.value)


def test_flags_are_read_with_the_cores_parser(three, monkeypatch):
    monkeypatch.setenv("LAYERKIT_FLAGS", " floatX = float64 ,, backend = rr_none ")
    with pytest.raises(ValueError, match="unknown backend 'rr_none' \\(from LAYERKIT_FLAGS\\)"):
        get_backend()
    monkeypatch.setenv("LAYERKIT_FLAGS", " floatX = float64 ,, backend = roadrunner ")
    assert current_backend_name() == "roadrunner"
    monkeypatch.setenv("LAYERKIT_FLAGS", "floatX")
    with pytest.raises(ValueError, match="LAYERKIT_FLAGS: expected key=value, got 'floatX'"):
        get_backend()
    assert get_backend("numpy").name == "numpy"  # an explicit name never reads the flags


def test_isolated_restores_the_previous_registry():
    before = get_backend("numpy")
    with registry.isolated():
        assert get_backend("numpy") is not before
    assert get_backend("numpy") is before
