"""conv2d and pooling at the graph level: Theano's semantics against scipy, and
gradients (second order included) against finite differences, on every backend."""
import numpy as np
import pytest
from scipy import signal

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit.core.tensor.nnet.abstract_conv import conv2d_grad_wrt_inputs
from layerkit.core.tensor.signal.pool import max_pool_2d, pool_2d
from layerkit.testing import verify_grad

RNG = np.random.default_rng(5)


def _reference_conv(x, w, mode, flip):
    """Theano's conv2d in float64 with scipy, channel by channel."""
    n, c = x.shape[:2]
    o = w.shape[0]
    fn = signal.convolve if flip else signal.correlate
    rows = []
    for i in range(n):
        rows.append([sum(fn(x[i, k], w[j, k], mode=mode) for k in range(c)) for j in range(o)])
    return np.array(rows)


@pytest.mark.parametrize("mode", ["valid", "full"])
@pytest.mark.parametrize("flip", [True, False])
def test_conv2d_matches_scipy(mode, flip, backend):
    x = RNG.normal(size=(2, 3, 7, 6))
    w = RNG.normal(size=(4, 3, 3, 2))
    X, W = T.dtensor4("x"), T.dtensor4("w")
    f = theano.function([X, W], T.nnet.conv2d(X, W, border_mode=mode, filter_flip=flip),
                        backend=backend.name)
    np.testing.assert_allclose(f(x, w), _reference_conv(x, w, mode, flip), rtol=1e-10, atol=1e-10)


def test_conv2d_half_and_stride_and_gradients(backend):
    x = RNG.normal(size=(1, 2, 5, 6))
    w = RNG.normal(size=(3, 2, 3, 3))
    X, W = T.dtensor4("x"), T.dtensor4("w")
    out = T.nnet.conv2d(X, W, border_mode="half", subsample=(2, 1))
    got = theano.function([X, W], out, backend=backend.name)(x, w)
    full = _reference_conv(x, w, "full", True)
    np.testing.assert_allclose(got, full[:, :, 1:-1:2, 1:-1], rtol=1e-10, atol=1e-10)
    verify_grad(lambda a, b: T.nnet.conv2d(a, b, border_mode="half", subsample=(2, 1)),
                [x, w], backend=backend.name)


def test_second_order_through_conv(backend):
    x = RNG.normal(size=(1, 1, 4, 4))
    w = RNG.normal(size=(2, 1, 2, 2))

    def grad_norm(a, b):
        g = T.grad(T.sqr(T.nnet.conv2d(a, b)).sum(), b)
        return T.sqr(g).sum()
    verify_grad(grad_norm, [x, w], backend=backend.name)


def test_transposed_convolution_is_the_adjoint(backend):
    x = RNG.normal(size=(2, 3, 6, 5))
    w = RNG.normal(size=(4, 3, 3, 3))
    gy = RNG.normal(size=(2, 4, 4, 3))
    X, W, GY = T.dtensor4("x"), T.dtensor4("w"), T.dtensor4("gy")
    conv = theano.function([X, W], T.nnet.conv2d(X, W), backend=backend.name)
    tconv = theano.function([GY, W], conv2d_grad_wrt_inputs(GY, W, (None, 3, 6, 5)),
                            backend=backend.name)
    # <conv(x), gy> == <x, conv^T(gy)>
    assert np.sum(conv(x, w) * gy) == pytest.approx(np.sum(x * tconv(gy, w)), rel=1e-10)
    verify_grad(lambda a, b: conv2d_grad_wrt_inputs(a, b, (None, 3, 6, 5)), [gy, w],
                backend=backend.name)


def test_theano_tutorials_shapes_with_the_old_default():
    X = T.tensor("float32", shape=(None, 1, 28, 28))
    w = T.tensor("float32", shape=(32, 1, 3, 3))
    w2 = T.tensor("float32", shape=(64, 32, 3, 3))
    w3 = T.tensor("float32", shape=(128, 64, 3, 3))
    l1 = max_pool_2d(T.nnet.conv2d(X, w, border_mode="full"), (2, 2))
    l2 = max_pool_2d(T.nnet.conv2d(l1, w2), (2, 2))
    l3 = max_pool_2d(T.nnet.conv2d(l2, w3), (2, 2))
    assert [v.type.shape[2] for v in (l1, l2, l3)] == [15, 7, 3]   # 28-30-15-13-7-5-3


def test_pool_2d_warns_when_ignore_border_is_omitted():
    with pytest.warns(UserWarning, match="ignore_border"):
        pool_2d(T.dtensor4(), (2, 2))


@pytest.mark.parametrize("mode", ["max", "sum", "average_inc_pad", "average_exc_pad"])
def test_pooling_gradients(mode, backend):
    x = RNG.normal(size=(1, 2, 5, 4))
    verify_grad(lambda a: pool_2d(a, (2, 2), ignore_border=False, mode=mode), [x],
                backend=backend.name)
    verify_grad(lambda a: pool_2d(a, (3, 2), stride=(1, 2), pad=(1, 1), ignore_border=True,
                                  mode=mode), [x], backend=backend.name)
