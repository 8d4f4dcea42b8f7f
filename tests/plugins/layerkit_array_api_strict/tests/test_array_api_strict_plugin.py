"""The array-api-strict test plugin, seen from outside: discovery and array transfer.

The plugin sets only ``name``, ``version`` and ``xp``; these tests check that
what it inherits from :class:`layerkit.backend.Backend` is right for it. They
are skipped where the plugin is not installed (tox's ``numpy`` environment).
"""
from __future__ import annotations

import numpy as np
import pytest

strict_plugin = pytest.importorskip("layerkit_array_api_strict")
xp = pytest.importorskip("array_api_strict")

from layerkit.backend import GENERIC_KERNELS, backend_names, backend_status  # noqa: E402
from layerkit.backend import get_backend  # noqa: E402
from layerkit.backend.registry import GENERIC_PROVIDER  # noqa: E402

NAME = "array-api-strict"


@pytest.fixture(scope="module")
def strict():
    return get_backend(NAME)


def test_array_api_strict_is_discovered_from_its_entry_point():
    assert NAME in backend_names()
    record = {r.name: r for r in backend_status()}[NAME]
    assert (record.status, record.version, record.distribution) == (
        "available", strict_plugin.__version__, "layerkit-array-api-strict")


def test_array_api_strict_uses_only_generic_kernels(strict):
    assert strict.xp is xp
    assert set(strict.kernel_table) == set(GENERIC_KERNELS)
    assert set(strict.kernel_providers.values()) == {GENERIC_PROVIDER}


ARRAYS = {
    "float32 matrix": np.arange(6, dtype=np.float32).reshape(2, 3),
    "float64 strided view": np.arange(12.0).reshape(3, 4)[:, ::2],
    "transposed": np.arange(6.0).reshape(2, 3).T,
    "0-d bool": np.array(True),
    "bool vector": np.array([True, False, True]),
    "0-d int64": np.array(-7, dtype=np.int64),
    "uint8": np.arange(5, dtype=np.uint8),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


@pytest.mark.parametrize("a", list(ARRAYS.values()), ids=list(ARRAYS))
def test_array_api_strict_round_trips_numpy_arrays(strict, a):
    x = strict.from_numpy(a)
    assert type(x).__module__.startswith("array_api_strict") and strict.is_array(x)
    assert x.shape == a.shape and x.dtype == getattr(xp, a.dtype.name)
    back = strict.to_numpy(x)
    assert isinstance(back, np.ndarray)
    assert back.dtype == a.dtype and back.shape == a.shape
    np.testing.assert_array_equal(back, a)


def test_array_api_strict_to_numpy_of_a_computed_array(strict):
    x = strict.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    y = strict.kernel("matmul")(x, x)
    back = strict.to_numpy(y)
    assert isinstance(back, np.ndarray) and back.dtype == np.float32
    np.testing.assert_array_equal(back, [[7.0, 10.0], [15.0, 22.0]])
    assert not strict.is_array(back)
