"""The numpy plugin's own sigmoid (not scipy's ``expit``, 2x slower): within a few
ulps of ``scipy.special.expit`` over the whole range, exact at the special values,
and safe when ``out`` is its input (fusion writes over inputs)."""
import numpy as np
import pytest
import scipy.special as sp

from layerkit_numpy.elemwise import sigmoid


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_matches_expit_to_a_few_ulps(dtype):
    x = np.linspace(-800, 800, 100001).astype(dtype)
    got, want = sigmoid(x), sp.expit(x)
    assert got.dtype == x.dtype         # (expit gives float16 as float64)
    want = want.astype(dtype)
    normal = want > np.finfo(dtype).tiny * 2 ** 10          # below: subnormal results
    rel = np.abs(got - want)[normal] / want[normal]
    assert rel.max() <= 3 * np.finfo(dtype).eps
    assert np.abs(got - want)[~normal].max() <= np.finfo(dtype).tiny * 2 ** 10


def test_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30])
    got = sigmoid(x)
    np.testing.assert_array_equal(got[:4], [0.5, 0.5, 1.0, 0.0])
    assert np.isnan(got[4]) and got[5] == 0.5 and got[6] == 0.5


def test_out_may_be_the_input_and_other_inputs_go_to_expit():
    x = np.random.default_rng(0).normal(size=(50, 170)).astype("float32")[:, 1:90]
    want = sp.expit(x)
    y = x.copy()
    assert sigmoid(y, out=y) is y
    np.testing.assert_allclose(y, want, rtol=3e-7)
    np.testing.assert_allclose(sigmoid(np.arange(3)), sp.expit(np.arange(3)))
    assert sigmoid(np.array(-3.0)) == sp.expit(-3.0)


@pytest.mark.parametrize("n", [7, 4000])
def test_float16_stays_float16_at_every_size(n):
    x = np.linspace(-8, 8, n).astype("float16")
    got = sigmoid(x)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, sp.expit(x.astype("float64")), rtol=2e-3, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_large_arrays_give_the_generic_kernels_bits(dtype):
    """One formula at every size above the expit path: no size-dependent ulps
    between the plugin and the reference kernels DebugMode compares against."""
    from layerkit.backend.kernels.elemwise import sigmoid as generic
    x = (np.random.default_rng(2).normal(size=50_000) * 10).astype(dtype)
    x[:5] = [np.inf, -np.inf, 0.0, -0.0, np.nan]
    np.testing.assert_array_equal(sigmoid(x), generic(x))
