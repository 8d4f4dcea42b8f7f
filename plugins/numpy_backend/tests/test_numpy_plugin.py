"""The numpy plugin: discovered through its entry point, and its kernels sane.

The backend-parametrised conformance suite lives in ``layerkit.testing`` and
runs from layerkit's own tests with ``--layerkit-backend=numpy``; these are
the checks specific to this package.
"""
from __future__ import annotations

from importlib import metadata

import numpy as np
import pytest
import scipy.special

from layerkit.backend import get_backend
from layerkit.backend.kernels import GENERIC_KERNELS
from layerkit.backend.registry import GENERIC_PROVIDER, backend_status, plugin_errors


@pytest.fixture
def numpy_backend():
    return get_backend("numpy")


def test_entry_point_is_installed():
    eps = {ep.name: ep for ep in metadata.entry_points(group="layerkit")}
    assert eps["numpy"].value == "layerkit_numpy.plugin"
    assert eps["numpy"].dist.name == "layerkit-numpy"


def test_backend_is_discovered_and_available(numpy_backend):
    import layerkit_numpy

    record = {r.name: r for r in backend_status()}["numpy"]
    assert record.status == "available" and record.distribution == "layerkit-numpy"
    assert numpy_backend.version == layerkit_numpy.__version__
    assert numpy_backend.device.startswith(f"cpu (numpy {np.__version__}, BLAS: ")
    assert numpy_backend.xp is np
    assert not [p for p in plugin_errors() if p.distribution == "layerkit-numpy"]


def test_overrides_only_kernels_of_the_contract(numpy_backend):
    from layerkit_numpy.backend import NUMPY_KERNELS

    unknown = set(NUMPY_KERNELS) - set(GENERIC_KERNELS)
    assert not unknown, f"kernels not in the contract (typo?): {sorted(unknown)}"
    assert set(numpy_backend.kernel_table) == set(GENERIC_KERNELS)
    generic = {k for k, p in numpy_backend.kernel_providers.items() if p == GENERIC_PROVIDER}
    assert generic == set(GENERIC_KERNELS) - set(NUMPY_KERNELS)


def test_matmul_is_the_numpy_plugins_own(numpy_backend):
    assert numpy_backend.kernel_providers["matmul"] == "layerkit-numpy"
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        a = rng.normal(size=(3, 5)).astype(dtype)
        b = rng.normal(size=(5, 2)).astype(dtype)
        got = numpy_backend.kernel("matmul")(a, b)
        ref = np.array([[sum(float(a[i, k]) * float(b[k, j]) for k in range(5))
                         for j in range(2)] for i in range(3)])
        assert got.dtype == dtype and got.shape == (3, 2)
        np.testing.assert_allclose(got, ref, rtol=1e-5 if dtype == "float32" else 1e-12)
    batch = rng.normal(size=(4, 3, 5))
    np.testing.assert_allclose(numpy_backend.kernel("matmul")(batch, b.astype("float64")),
                               np.einsum("nik,kj->nij", batch, b), rtol=1e-12)


@pytest.mark.parametrize("dtype", ["bool", "int32", "float16", "float32", "float64",
                                   "complex64"])
def test_matmul_of_vectors_and_matrices_against_sums(numpy_backend, dtype):
    """Matrices and vectors take ``ndarray.dot``: every pairing, transposed and strided
    views, each element against a Python sum of products (float64 or exact ints)."""
    rng = np.random.default_rng(1)
    big = rng.integers(-3, 4, size=(6, 8)).astype(dtype)
    mats = {"m": big[:3, :4], "mT": big[:4, :3].T, "strided": big[::2, ::2][:3, :4]}
    vecs = {"v": big[0, :4], "strided": big[1, ::2]}
    right = {"m": big[:4, :2], "mT": big[:2, :4].T}
    pairs = [(a, b) for a in mats.values() for b in list(vecs.values()) + list(right.values())]
    pairs += [(v, r) for v in vecs.values() for r in right.values()]
    pairs += [(v, w) for v in vecs.values() for w in vecs.values()]
    kind = np.dtype(dtype).kind
    assert len(pairs) == 20
    for a, b in pairs:
        got = numpy_backend.kernel("matmul")(a, b)
        # Python numbers: exact ints, double-precision floats and complexes
        ref = np.array([[sum(x.item() * y.item() for x, y in zip(row, col))
                         for col in np.atleast_2d(b.T)] for row in np.atleast_2d(a)])
        ref = np.reshape(ref, np.matmul(a, b).shape)
        assert got.dtype == np.matmul(a, b).dtype and got.shape == ref.shape
        if kind == "b":
            np.testing.assert_array_equal(got, ref > 0)
        elif kind in "iu":
            np.testing.assert_array_equal(got, ref)
        else:
            np.testing.assert_allclose(got, ref, rtol=3e-3 if dtype == "float16" else 1e-5)


def test_matmul_refuses_a_0d_operand_as_numpy_does(numpy_backend):
    with pytest.raises(ValueError):
        numpy_backend.kernel("matmul")(np.array(2.0), np.ones(3))


def test_softmax_and_log_softmax_against_scipy(numpy_backend):
    x = np.random.default_rng(1).normal(size=(4, 7)) * 30
    np.testing.assert_allclose(numpy_backend.kernel("softmax")(x),
                               scipy.special.softmax(x, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(numpy_backend.kernel("log_softmax")(x),
                               scipy.special.log_softmax(x, axis=-1), rtol=1e-12, atol=1e-12)


def test_scatter_add_accumulates_duplicates(numpy_backend):
    x = np.zeros((4, 2))
    values = np.arange(10.0).reshape(5, 2)
    got = numpy_backend.kernel("scatter_add")(x, np.array([0, 2, 0, 3, 2]), values)
    ref = x.copy()
    for i, row in zip([0, 2, 0, 3, 2], values):
        ref[i] += row
    np.testing.assert_array_equal(got, ref)
    assert not x.any()  # a new array; the input is untouched


def test_kernels_agree_with_the_generic_ones(numpy_backend):
    rng = np.random.default_rng(2)
    x = rng.uniform(0.1, 2.0, size=(3, 4))
    y = rng.uniform(0.1, 2.0, size=(3, 4))
    for name in ("exp", "log", "tanh", "sigmoid", "softplus", "sqrt"):
        np.testing.assert_allclose(numpy_backend.kernel(name)(x), GENERIC_KERNELS[name](x),
                                   rtol=1e-12, err_msg=name)
    for name in ("add", "multiply", "power", "maximum"):
        np.testing.assert_allclose(numpy_backend.kernel(name)(x, y),
                                   GENERIC_KERNELS[name](x, y), rtol=1e-12, err_msg=name)
    for name in ("sum", "max", "mean"):
        np.testing.assert_allclose(numpy_backend.kernel(name)(x, axis=1),
                                   GENERIC_KERNELS[name](x, axis=1), rtol=1e-12, err_msg=name)


def test_random_draws_are_a_function_of_key_and_counter(numpy_backend):
    draw = numpy_backend.kernel("random_uniform")
    a = draw(7, 0, (3, 4), "float32")
    assert a.dtype == np.float32 and a.shape == (3, 4)
    assert ((a >= 0) & (a < 1)).all()
    np.testing.assert_array_equal(a, draw(7, 0, (3, 4), "float32"))
    assert not np.array_equal(a, draw(7, 1, (3, 4), "float32"))


def test_from_and_to_numpy_round_trip(numpy_backend):
    a = np.arange(6, dtype="float32").reshape(2, 3)
    b = numpy_backend.from_numpy(a)
    assert numpy_backend.is_array(b)
    np.testing.assert_array_equal(numpy_backend.to_numpy(b), a)
