"""layerkit.utils: as_tuple, one_hot and unroll_scan (Lasagne's), floatX, unique."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.utils import as_tuple, floatX, one_hot, unique, unroll_scan


def test_as_tuple():
    assert as_tuple(3, 2) == (3, 3)
    assert as_tuple([1, 2], 2) == (1, 2)
    assert as_tuple((1, 2, 3), 3, int) == (1, 2, 3)
    assert as_tuple(1.5, 1) == (1.5,)
    with pytest.raises(ValueError, match="length 2, got \\(1, 2, 3\\)"):
        as_tuple((1, 2, 3), 2)
    with pytest.raises(TypeError, match="iterable of int, got \\(1, 2.5\\)"):
        as_tuple((1, 2.5), 2, int)
    with pytest.raises(TypeError, match="iterable of int or float, got 'ab'"):
        as_tuple("ab", 2, (int, float))


@pytest.mark.parametrize("m", [None, 6])
def test_one_hot(m, backend):
    labels = np.array([[0, 3], [2, 3], [1, 0]], dtype="int32")
    x = T.imatrix("x")
    out = theano.function([x], one_hot(x, m), backend=backend.name)(labels)
    expected = np.eye(4 if m is None else m)[labels]          # numpy's one-hot rows
    assert out.dtype == theano.config.floatX
    np.testing.assert_array_equal(out, expected)


def test_one_hot_of_a_vector_and_floatx():
    out = theano.function([], one_hot(np.array([1, 0, 2]), 3))()
    np.testing.assert_array_equal(out, np.eye(3)[[1, 0, 2]])
    assert floatX(np.arange(3)).dtype == np.dtype(theano.config.floatX)
    a, b = object(), object()
    assert unique([a, b, a]) == [a, b]


@pytest.mark.parametrize("go_backwards", [False, True])
def test_unroll_scan_against_a_python_loop(go_backwards, backend):
    """A two-output recurrence h <- tanh(x_t W + h U), c <- c + h, against numpy."""
    rng = np.random.RandomState(0)
    xs, W, U = rng.randn(4, 2, 3), rng.randn(3, 3), rng.randn(3, 3)
    x, w, u = T.dtensor3("x"), T.dmatrix("w"), T.dmatrix("u")
    h0, c0 = T.zeros((2, 3), dtype="float64"), T.zeros((2, 3), dtype="float64")

    def step(x_t, h, c, w, u):
        h = T.tanh(T.dot(x_t, w) + T.dot(h, u))
        return h, c + h
    hs, cs = unroll_scan(step, [x], [h0, c0], [w, u], 4, go_backwards=go_backwards)
    f = theano.function([x, w, u], [hs, cs, T.grad(cs[-1].sum(), w)], backend=backend.name)
    out_h, out_c, grad_w = f(xs, W, U)
    h, c, ref_h, ref_c = np.zeros((2, 3)), np.zeros((2, 3)), [], []
    for t in (range(3, -1, -1) if go_backwards else range(4)):
        h = np.tanh(xs[t] @ W + h @ U)
        c = c + h
        ref_h.append(h)
        ref_c.append(c)
    np.testing.assert_allclose(out_h, ref_h, rtol=1e-12)
    np.testing.assert_allclose(out_c, ref_c, rtol=1e-12)
    eps, bump = 1e-6, np.zeros_like(W)                  # one entry of the gradient, centrally
    bump[1, 2] = eps
    numeric = (f(xs, W + bump, U)[1][-1].sum() - f(xs, W - bump, U)[1][-1].sum()) / (2 * eps)
    assert abs(grad_w[1, 2] - numeric) < 1e-6


def test_unroll_scan_takes_one_variable_as_its_sequences():
    import layerkit.core.tensor as T
    x = T.dvector("x")
    [total] = unroll_scan(lambda a, t: t + a, x, T.constant(0.0, dtype="float64"), None, 3)
    np.testing.assert_array_equal(total.eval({x: np.array([1.0, 2.0, 3.0])}), [1.0, 3.0, 6.0])
