"""Static sizes survive ``x.shape``: ops built from a shape vector (the gradients of
convolution, reshape) keep what the type of ``x`` knows, so a gradient can flow back
through a dimshuffle that added a size-1 axis."""
import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T


def test_shape_of_a_partly_known_variable_keeps_its_static_sizes():
    from layerkit.core.ops.shape import shape_of, static_entries
    v = T.dmatrix("v").dimshuffle(0, "x", 1)
    assert static_entries(shape_of(v)) == (None, 1, None)


def test_filter_gradient_through_a_dimshuffled_filter(backend):
    """A 1-d convolution written as a 2-d one over ``w.dimshuffle(0, 1, 'x', 2)``:
    the filter gradient matches central differences."""
    rng = np.random.default_rng(0)
    x = T.dtensor4("x")
    w = theano.shared(rng.random((2, 3, 4)), name="w")
    out = T.nnet.conv2d(x, w.dimshuffle(0, 1, "x", 2))
    cost = (out ** 2).sum()
    grad = theano.function([x], T.grad(cost, w), backend=backend.name)
    value = theano.function([x], cost, backend=backend.name)
    X = rng.random((1, 3, 5, 6))
    w0 = w.get_value()
    got = grad(X)
    eps = 1e-6
    num = np.zeros_like(w0)
    for idx in np.ndindex(w0.shape):
        for sign in (1, -1):
            shifted = w0.copy()
            shifted[idx] += sign * eps
            w.set_value(shifted)
            num[idx] += sign * value(X) / (2 * eps)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-7)
