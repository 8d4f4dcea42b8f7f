"""The cupy plugin: discovered without cupy; unavailable, with the reason, without a GPU."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from layerkit.backend import get_backend
from layerkit.backend.registry import NoBackendError, backend_names, backend_status


def _record():
    return {r.name: r for r in backend_status()}["cupy"]


def test_cupy_backend_is_discovered():
    assert "cupy" in backend_names()


def test_loading_the_plugin_does_not_import_cupy():
    import layerkit_cupy.plugin  # noqa: F401

    if "cupy" in sys.modules:
        pytest.skip("cupy was already imported by something else in this process")
    backend_names()
    assert "cupy" not in sys.modules


def test_unavailable_cupy_reports_its_reason():
    record = _record()
    if record.status == "available":
        pytest.skip("cupy and a CUDA device are present: nothing unavailable to report")
    assert record.status == "unavailable"
    try:
        import cupy  # noqa: F401
    except ImportError:
        assert record.reason.startswith("cupy is not installed: pip install 'layerkit-cupy[cupy]'")
    else:
        assert record.reason.startswith(("no CUDA device: ", "cupy failed to import: "))
    with pytest.raises(NoBackendError, match="'cupy' .* unavailable: "):
        get_backend("cupy")


def test_cupy_backend_round_trips_when_available():
    record = _record()
    if record.status != "available":
        pytest.skip(f"cupy backend unavailable: {record.reason}")
    backend = get_backend("cupy")
    a = np.arange(12, dtype="float32").reshape(3, 4)
    x = backend.from_numpy(a)
    assert backend.is_array(x)
    np.testing.assert_array_equal(backend.to_numpy(x), a)
    assert backend.device.startswith("cuda:")
    np.testing.assert_allclose(backend.to_numpy(backend.kernel("matmul")(x, x.T)), a @ a.T)


# -- the reasons, with cupy faked (these run everywhere) ------------------------
class _FakeRuntime:
    def __init__(self, count=0, error=None):
        self.count, self.error = count, error

    def getDeviceCount(self):  # noqa: N802 - cupy's name
        if self.error is not None:
            raise self.error
        return self.count


def _fake_cupy(**runtime):
    import types

    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(runtime=_FakeRuntime(**runtime))
    return cupy


def _reason(monkeypatch, module) -> str:
    from layerkit.backend import BackendUnavailable
    from layerkit_cupy.backend import CupyBackend

    monkeypatch.setitem(sys.modules, "cupy", module)
    with pytest.raises(BackendUnavailable) as info:
        CupyBackend()
    return str(info.value)


def test_reason_when_cupy_is_missing(monkeypatch):
    reason = _reason(monkeypatch, None)  # None in sys.modules: `import cupy` fails
    assert reason.startswith("cupy is not installed: pip install 'layerkit-cupy[cupy]'")


def test_reason_when_the_runtime_reports_no_device(monkeypatch):
    reason = _reason(monkeypatch, _fake_cupy(count=0))
    assert reason == "no CUDA device: the CUDA runtime reports 0 devices"


def test_reason_when_the_driver_is_missing(monkeypatch):
    err = RuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient")
    reason = _reason(monkeypatch, _fake_cupy(error=err))
    assert reason == ("no CUDA device: RuntimeError: cudaErrorInsufficientDriver: "
                      "CUDA driver version is insufficient")
