"""A leaky rectifier's forward pass ``x * where(x >= 0, 1, a)`` is compiled as
``maximum(x, x * a)`` where nothing else reads the slope: the same bits as the
product (NaN, infinities, signed zeros, subnormals), every float dtype; kept as
the product when the gradient reads the slope or ``a`` is outside [0, 1]."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.graph import toposort


def _values(dtype):
    info = np.finfo(dtype)
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, info.tiny / 4, -info.tiny / 4,
                info.max, -info.max, 1.0, -1.0]
    rng = np.random.default_rng(0)
    return np.concatenate([np.array(specials, dtype), rng.normal(size=500).astype(dtype)])


def _uses_where(fn):
    return any("where" in str(n.op) for n in toposort(fn.outputs))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("alpha", [0.01, 1.0 / 3, 0.5, 1.0])
def test_the_same_bits_as_the_product(dtype, alpha):
    x = T.vector("x", dtype=dtype)
    y = T.nnet.relu(x, alpha)
    fast = theano.function([x], y)
    assert not _uses_where(fast)
    data = _values(dtype)
    a = np.asarray(alpha, dtype)
    want = data * np.where(data >= 0, np.asarray(1, dtype), a)     # numpy, the definition
    got = fast(data)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(f"u{data.itemsize}"), want.view(f"u{data.itemsize}"))


def test_kept_as_a_product_when_the_gradient_reads_the_slope():
    x = T.matrix("x")
    y = T.nnet.relu(x, 0.01)
    f = theano.function([x], [y, T.grad(y.sum(), x)])
    assert _uses_where(f)
    data = np.array([[-2.0, 3.0], [0.0, -0.5]], dtype=x.dtype)
    out, grad = f(data)
    np.testing.assert_array_equal(out, data * np.where(data >= 0, 1, np.float32(0.01)))
    np.testing.assert_array_equal(grad, np.where(data >= 0, 1, np.float32(0.01)))


@pytest.mark.parametrize("alpha", [-0.5, 2.0])
def test_a_slope_outside_zero_one_stays_a_product(alpha):
    x = T.vector("x")
    f = theano.function([x], T.nnet.relu(x, alpha))
    assert _uses_where(f)
    data = np.array([-2.0, 0.0, 3.0], dtype=x.dtype)
    np.testing.assert_array_equal(f(data), data * np.where(data >= 0, 1, np.float32(alpha)))


def test_a_zero_slope_stays_a_product():
    """maximum(x, x * 0) would turn +inf into NaN (inf * 0); the product keeps inf."""
    x = T.vector("x")
    f = theano.function([x], x * T.switch(T.ge(x, 0), np.float32(1), np.float32(0)))
    data = np.array([np.inf, -1.0, 2.0, -np.inf], dtype=x.dtype)
    with np.errstate(invalid="ignore"):
        want = data * np.where(data >= 0, np.float32(1), np.float32(0))
        np.testing.assert_array_equal(f(data), want)
