"""grad(): reverse mode, consider_constant, disconnected inputs, errors."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T


def test_non_scalar_cost_is_an_error():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="scalar"):
        T.grad(x * 2, x)


def test_disconnected_input_raises_unless_ignored():
    x, y = T.dscalar("x"), T.dscalar("y")
    with pytest.raises(theano.DisconnectedInputError, match="does not depend"):
        T.grad(x * 2, y)
    g = T.grad(x * 2, y, disconnected_inputs="ignore")
    assert float(theano.function([y], g, on_unused_input="ignore")(3.0)) == 0.0


def test_consider_constant_and_disconnected_grad(backend):
    x = T.dscalar("x")
    y = x * x
    g1 = T.grad(y * x, x, consider_constant=[y])          # d(y*x)/dx with y fixed = y
    g2 = T.grad(T.disconnected_grad(y) * x, x)
    f = theano.function([x], [g1, g2], backend=backend.name)
    assert [float(v) for v in f(3.0)] == [9.0, 9.0]


def test_gradient_accumulates_over_reuse(backend):
    x = T.dvector("x")
    y = (x * x).sum() + (3 * x).sum() + x.sum()
    f = theano.function([x], T.grad(y, x), backend=backend.name)
    np.testing.assert_allclose(f([1.0, -2.0]), [2 + 4, -4 + 4])


def test_gradient_through_broadcasting_sums_the_right_axes(backend):
    x = T.dmatrix("x")
    b = T.dvector("b")
    y = ((x + b) ** 2).sum()
    f = theano.function([x, b], T.grad(y, b), backend=backend.name)
    xv, bv = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0])
    np.testing.assert_allclose(f(xv, bv), (2 * (xv + bv)).sum(axis=0))


def test_gradient_of_shared_weights_in_a_float32_net(backend):
    rng = np.random.default_rng(0)
    W = theano.shared(rng.normal(size=(4, 3)).astype("float32"))
    x = T.fmatrix("x")
    cost = T.nnet.softmax(T.dot(x, W)).max(axis=1).sum()
    g = T.grad(cost, W)
    assert g.dtype == "float32"
    out = theano.function([x], g, backend=backend.name)(rng.normal(size=(5, 4)).astype("float32"))
    assert out.shape == (4, 3) and np.isfinite(out).all()
