"""Leaky ``relu(x, alpha)``: values and gradient against numpy, for a constant and a
shared (learnable) slope, and the backward pass as one product with the slope."""
import numpy as np

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.graph import toposort


def test_values_and_gradients_against_numpy(backend):
    x = T.dvector("x")
    alpha = theano.shared(np.array(0.2), name="alpha")            # a float64 0-d value
    y = T.nnet.relu(x, alpha)
    cost = T.sum(y * np.arange(1.0, 7.0))
    f = theano.function([x], [y] + T.grad(cost, [x, alpha]), backend=backend.name)
    a = np.array([-3.0, -0.5, 0.0, 0.5, 2.0, -1e-300])
    out, gx, galpha = f(a)
    c = np.arange(1.0, 7.0)
    np.testing.assert_allclose(out, np.where(a >= 0, a, 0.2 * a), rtol=1e-15)
    np.testing.assert_allclose(gx, c * np.where(a >= 0, 1.0, 0.2), rtol=1e-15)
    np.testing.assert_allclose(galpha, np.sum(c * np.where(a >= 0, 0.0, a)), rtol=1e-15)


def test_backward_pass_is_one_product_with_the_forward_slope():
    x = T.dmatrix("x")
    y = T.nnet.relu(x, 0.1)
    g = T.grad(T.sum(y * 3.0), x)
    ops = [str(n.op) for n in toposort([g])]
    assert "where" in ops and ops.count("where") == 1        # the slope, computed once
    assert not any("switch" in o for o in ops)
