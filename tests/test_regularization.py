"""Penalties against numpy, and which parameters each helper selects."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init
from layerkit.layers import DenseLayer, InputLayer
from layerkit.regularization import (apply_penalty, l1, l2, regularize_layer_params,
                                     regularize_layer_params_weighted, regularize_network_params)


@pytest.fixture
def net():
    l_in = InputLayer((None, 3))
    l1_ = DenseLayer(l_in, 4, W=init.Normal(1.0), b=init.Normal(1.0))
    l2_ = DenseLayer(l1_, 2, W=init.Normal(1.0), b=init.Normal(1.0))
    return l1_, l2_


def value(expr, backend):
    return float(theano.function([], expr, backend=backend.name)())


def test_l1_and_l2(backend):
    x = T.dmatrix("x")
    a = np.array([[1.0, -2.0, 0.0], [0.5, 3.0, -0.25]])
    f = theano.function([x], [l1(x), l2(x)], backend=backend.name)
    got_l1, got_l2 = f(a)
    np.testing.assert_allclose(got_l1, np.abs(a).sum(), rtol=1e-12)
    np.testing.assert_allclose(got_l2, (a ** 2).sum(), rtol=1e-12)


def test_apply_penalty_to_one_or_many(backend):
    a, b = theano.shared(np.array([1.0, -2.0])), theano.shared(np.array([[3.0]]))
    assert value(apply_penalty(a, l2), backend) == 5.0
    assert value(apply_penalty([a, b], l2), backend) == 14.0
    assert value(apply_penalty((x for x in [a, b]), l1), backend) == 6.0
    assert apply_penalty([], l2) == 0


def test_regularize_layer_params_skips_biases(net, backend):
    l1_, l2_ = net
    W1 = l1_.W.get_value().astype("float64")
    W2 = l2_.W.get_value().astype("float64")
    np.testing.assert_allclose(value(regularize_layer_params(l1_, l2), backend),
                               (W1 ** 2).sum(), rtol=1e-6)
    np.testing.assert_allclose(value(regularize_layer_params([l1_, l2_], l1), backend),
                               np.abs(W1).sum() + np.abs(W2).sum(), rtol=1e-6)


def test_tags_choose_the_parameters(net, backend):
    l1_, l2_ = net
    b1 = l1_.b.get_value().astype("float64")
    W1 = l1_.W.get_value().astype("float64")
    got = value(regularize_layer_params(l1_, l2, tags={"regularizable": False}), backend)
    np.testing.assert_allclose(got, (b1 ** 2).sum(), rtol=1e-6)
    got = value(regularize_layer_params(l1_, l2, tags={"trainable": True}), backend)
    np.testing.assert_allclose(got, (W1 ** 2).sum() + (b1 ** 2).sum(), rtol=1e-6)


def test_regularize_layer_params_weighted(net, backend):
    l1_, l2_ = net
    W1 = l1_.W.get_value().astype("float64")
    W2 = l2_.W.get_value().astype("float64")
    got = value(regularize_layer_params_weighted({l1_: 0.1, l2_: 0.5}, l2), backend)
    np.testing.assert_allclose(got, 0.1 * (W1 ** 2).sum() + 0.5 * (W2 ** 2).sum(), rtol=1e-6)


def test_regularize_network_params(net, backend):
    l1_, l2_ = net
    W1 = l1_.W.get_value().astype("float64")
    W2 = l2_.W.get_value().astype("float64")
    np.testing.assert_allclose(value(regularize_network_params(l2_, l2), backend),
                               (W1 ** 2).sum() + (W2 ** 2).sum(), rtol=1e-6)


def test_penalty_keyword_arguments_are_passed():
    seen = {}

    def penalty(x, scale):
        seen["scale"] = scale
        return scale * T.sum(x)

    regularize_network_params(DenseLayer((None, 2), 2), penalty, scale=3)
    assert seen == {"scale": 3}


def test_weight_decay_trains(net, backend):
    from layerkit.layers import get_all_params, get_output
    from layerkit.updates import sgd
    l1_, l2_ = net
    x = l1_.input_layer.input_var
    loss = T.mean(get_output(l2_) ** 2) + 1e-2 * regularize_network_params(l2_, l2)
    step = theano.function([x], loss, backend=backend.name,
                           updates=sgd(loss, get_all_params(l2_, trainable=True), 0.01))
    data = np.random.RandomState(0).rand(8, 3).astype("float32")
    first = float(step(data))
    for _ in range(5):
        last = float(step(data))
    assert last < first
