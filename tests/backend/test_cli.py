"""The ``layerkit`` command: ``backends``, ``demo``, ``bench``."""
from __future__ import annotations

import os
import subprocess
import sys
import types
from importlib import metadata

import numpy as np
import pytest

from layerkit.backend import Backend, BackendUnavailable, hookimpl, registry
from layerkit.cli import main


class NoGpuBackend(Backend):
    name = "nogpu"
    version = "2.0"
    xp = np

    def __init__(self):
        raise BackendUnavailable("no NoGPU device: driver not found")


def fast_matmul(a, b):
    return np.matmul(a, b)


@hookimpl
def layerkit_backends():
    return [NoGpuBackend]


@hookimpl
def layerkit_kernels(backend):
    return {"matmul": fast_matmul} if backend.name == "numpy" else None


class _BrokenEntryPoint:
    name = "broken"
    value = "layerkit_broken.plugin"
    group = "layerkit"
    dist = types.SimpleNamespace(name="layerkit-broken")

    def load(self):
        raise ImportError("No module named 'layerkit_broken'")


@pytest.fixture
def cli_plugins(monkeypatch):
    """The real numpy plugin, a broken one, and one overriding numpy's matmul."""
    for var in ("LAYERKIT_BACKEND", "LAYERKIT_FLAGS", "LAYERKIT_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    eps = [ep for ep in metadata.entry_points(group="layerkit") if ep.name == "numpy"]
    eps.append(_BrokenEntryPoint())
    monkeypatch.setattr(registry, "metadata",
                        types.SimpleNamespace(entry_points=lambda group: list(eps)))
    with registry.isolated():
        registry.register_plugin(sys.modules[__name__], name="fastmm",
                                 dist="layerkit-fastmm")
        yield


def test_backends_lists_status_version_device_and_reasons(cli_plugins, capsys):
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    numpy_line = next(line for line in out.splitlines() if line.strip().startswith("numpy "))
    assert "available" in numpy_line and "layerkit-numpy" in numpy_line
    assert "cpu (numpy " in numpy_line
    nogpu_line = next(line for line in out.splitlines() if line.strip().startswith("nogpu "))
    assert "unavailable" in nogpu_line and "2.0" in nogpu_line
    assert "reason: no NoGPU device: driver not found" in out


def test_backends_shows_the_plugin_overriding_matmul(cli_plugins, capsys):
    main(["backends"])
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()
            if line.startswith("  ") and len(line.split()) == 2}
    assert rows["matmul"] == ["layerkit-fastmm*"]  # overriding the backend's own
    assert rows["exp"] == ["layerkit-numpy"]
    assert rows["arange"] == ["generic"]


def test_backends_lists_broken_plugins_with_their_error(cli_plugins, capsys):
    main(["backends"])
    out = capsys.readouterr().out
    assert "Plugins skipped or misbehaving:" in out
    assert "broken (layerkit-broken): failed to import" in out
    assert "No module named 'layerkit_broken'" in out


def test_backends_overrides_only(cli_plugins, capsys):
    main(["backends", "--overrides"])
    out = capsys.readouterr().out
    assert "matmul" in out and " arange " not in out


def test_backends_without_kernel_table(cli_plugins, capsys):
    main(["backends", "--no-kernels"])
    out = capsys.readouterr().out
    assert "numpy" in out and "KERNEL" not in out


def test_backends_with_nothing_installed(monkeypatch, capsys):
    monkeypatch.setattr(registry, "metadata",
                        types.SimpleNamespace(entry_points=lambda group: []))
    with registry.isolated():
        assert main(["backends"]) == 0
    assert "pip install 'layerkit[numpy]'" in capsys.readouterr().out


def test_bench_is_not_a_command(capsys):
    """The benchmarks are scripts in bench/ of a checkout, not a subcommand."""
    with pytest.raises(SystemExit) as info:
        main(["bench"])
    assert info.value.code == 2
    assert "invalid choice: 'bench'" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_python_dash_m_layerkit_backends_runs():
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERKIT_")}
    proc = subprocess.run([sys.executable, "-m", "layerkit", "backends"], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "numpy" in proc.stdout and "available" in proc.stdout


def test_demo_passes_its_arguments_to_layerkit_demo(monkeypatch):
    seen = []
    fake = types.ModuleType("layerkit.demo")
    fake.main = lambda argv: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "layerkit.demo", fake)
    assert main(["demo", "--epochs", "1", "--help-me"]) == 0
    assert seen == [["--epochs", "1", "--help-me"]]


def test_demo_failure_status_is_returned(monkeypatch):
    fake = types.ModuleType("layerkit.demo")
    fake.main = lambda argv: 3
    monkeypatch.setitem(sys.modules, "layerkit.demo", fake)
    assert main(["demo"]) == 3
