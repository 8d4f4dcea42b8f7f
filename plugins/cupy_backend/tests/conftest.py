"""Fixtures of the cupy plugin's tests.

``gpu_backend``: the real cupy backend, or a skip naming why it is unavailable
(cupy missing, no device). With ``LAYERKIT_CUPY_EMULATE_GPU=1`` it is the host
emulation instead: a dry run of the GPU tests' own code, which proves nothing about
a GPU. ``host_cupy``: the host emulation of cupy
(``cupy_host_emulation``) in ``sys.modules`` for one test, or a skip when no C++
compiler is installed. ``host_backend``: a cupy backend created on that emulation
in an isolated registry, so the plugin's own Python and CUDA code runs on the CPU.
"""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import cupy_host_emulation as emulation  # noqa: E402


def pytest_configure(config):
    # the conformance suites mark their full grids; registered here too for runs of this
    # directory alone (without layerkit's pytest plugin)
    config.addinivalue_line("markers", "layerkit_full_grid: a case of the full conv/pool grids")


@pytest.fixture
def gpu_backend(request):
    if os.environ.get("LAYERKIT_CUPY_EMULATE_GPU") == "1":
        # a dry run of the GPU tests' own code on the host emulation (no GPU is tested)
        return request.getfixturevalue("host_backend")
    from layerkit.backend import backend_status, get_backend
    record = {r.name: r for r in backend_status()}.get("cupy")
    if record is None:
        pytest.skip("the cupy backend is not registered (is layerkit-cupy installed?)")
    if record.status != "available":
        pytest.skip(f"cupy backend unavailable: {record.reason}")
    return get_backend("cupy")


@pytest.fixture
def host_cupy(monkeypatch):
    if emulation.compiler() is None:
        pytest.skip("no host C++ compiler (g++, c++ or clang++) to emulate the CUDA kernels")
    return emulation.install(monkeypatch)


@pytest.fixture
def host_backend(host_cupy):
    from layerkit.backend import get_backend, register_plugin
    from layerkit.backend.registry import backend_names, isolated
    import layerkit_cupy.plugin

    with isolated():
        if "cupy" not in backend_names():      # not installed: register the module itself
            register_plugin(layerkit_cupy.plugin, "cupy", "layerkit-cupy")
        backend = get_backend("cupy")
        assert backend.xp is host_cupy
        yield backend
