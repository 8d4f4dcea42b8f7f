"""The seeds' own formulas stay finite at logits of +-1000 (the stable forms of decision D29)."""
import numpy as np
import scipy.special as sp

import layerkit.core as theano
import layerkit.core.tensor as T

Z = np.array([1000.0, -1000.0, 3.0, 0.0])
Y = np.array([0.0, 1.0, 1.0, 0.0])


def _check(cost, z, y, backend):
    f = theano.function([z, y], [cost, T.grad(cost, z)], backend=backend.name)
    c, g = f(Z, Y)
    want = (Y * np.logaddexp(0, -Z) + (1 - Y) * np.logaddexp(0, Z)).sum()
    np.testing.assert_allclose(c, want, rtol=1e-12)
    np.testing.assert_allclose(g, sp.expit(Z) - Y, rtol=1e-12, atol=1e-300)


def test_hand_written_sigmoid_cross_entropy(backend):
    z, y = T.dvector("z"), T.dvector("y")
    h = 1 / (1 + T.exp(-z))
    _check((-y * T.log(h) - (1 - y) * T.log(1 - h)).sum(), z, y, backend)


def test_nnet_binary_crossentropy_on_sigmoid(backend):
    z, y = T.dvector("z"), T.dvector("y")
    _check(T.nnet.binary_crossentropy(T.nnet.sigmoid(z), y).sum(), z, y, backend)


def test_log_of_softmax_and_hand_written_softmax(backend):
    x = T.dmatrix("x")
    t = T.ivector("t")
    hand = T.exp(x - x.max(axis=1, keepdims=True))
    hand = hand / hand.sum(axis=1, keepdims=True)
    for p in (T.nnet.softmax(x), hand):
        cost = -T.mean(T.log(p)[T.arange(t.shape[0]), t])
        f = theano.function([x, t], [cost, T.grad(cost, x)], backend=backend.name)
        xv = np.array([[1000.0, -1000.0, 0.0], [0.0, 1.0, 2.0]])
        c, g = f(xv, np.array([1, 2], dtype="int32"))
        want = -sp.log_softmax(xv, axis=1)[[0, 1], [1, 2]].mean()
        np.testing.assert_allclose(c, want, rtol=1e-12)
        assert np.isfinite(g).all()
        np.testing.assert_allclose(g, (sp.softmax(xv, axis=1) - np.eye(3)[[1, 2]]) / 2, atol=1e-12)
