"""The cupy plugin is discovered; without cupy or a GPU it reports why."""
import pytest

from layerkit.backend import backend_names, backend_status, get_backend


def test_cupy_backend_is_discovered():
    assert "cupy" in backend_names()


def test_unavailable_cupy_reports_its_reason():
    record = {r.name: r for r in backend_status()}["cupy"]
    if record.status == "available":
        pytest.skip("a GPU is present: the availability report is not exercised")
    assert record.status == "unavailable"
    assert "cupy is not installed" in record.error or "CUDA" in record.error


def test_cupy_backend_computes_when_available():
    record = {r.name: r for r in backend_status()}["cupy"]
    if record.status != "available":
        pytest.skip(f"cupy backend unavailable: {record.error}")
    import numpy as np
    import layerkit.core as theano
    import layerkit.core.tensor as T
    x = T.fmatrix("x")
    f = theano.function([x], T.nnet.softmax(x).sum(axis=0), backend="cupy")
    a = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    e = np.exp(a - a.max(axis=1, keepdims=True))
    np.testing.assert_allclose(f(a), (e / e.sum(axis=1, keepdims=True)).sum(axis=0), rtol=1e-5)
    assert get_backend("cupy").name == "cupy"
