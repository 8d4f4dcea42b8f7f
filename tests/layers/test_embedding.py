"""EmbeddingLayer: shapes, parameters, lookup values, gradients that add up over repeated
indices (against np.add.at), one training step on every backend."""
import numpy as np
import pytest

import layerkit.core as theano
import layerkit.core.tensor as T
from layerkit import init
from layerkit.layers import EmbeddingLayer, InputLayer, count_params, get_output
from layerkit.updates import sgd


@pytest.mark.parametrize("shape", [(None,), (None, 7), (2, None, 3)])
def test_shapes_and_params(shape):
    l_in = InputLayer(shape, input_var=T.tensor("int32", shape=(None,) * len(shape)))
    layer = EmbeddingLayer(l_in, input_size=10, output_size=4)
    assert layer.output_shape == shape + (4,)
    assert layer.W.get_value().shape == (10, 4)
    assert count_params(layer) == 40
    assert layer.get_params(regularizable=True) == [layer.W]


def test_default_init_and_errors():
    layer = EmbeddingLayer(InputLayer((None, 3), input_var=T.imatrix()), 1000, 8)
    W = layer.W.get_value()
    assert abs(W.std() - 0.01) < 0.001 and abs(W.mean()) < 0.001   # Normal(0.01)
    for size in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="must be a positive integer"):
            EmbeddingLayer(InputLayer((None, 3)), size, 8)


def test_lookup_and_gradient(backend, float64):
    idx = np.array([[1, 4, 1], [0, 4, 4]], dtype="int32")
    l_in = InputLayer((None, 3), input_var=T.imatrix("idx"))
    layer = EmbeddingLayer(l_in, 5, 2, W=init.Normal(1.0))
    W = layer.W.get_value()
    R = np.random.RandomState(0).randn(2, 3, 2)
    loss = T.sum(get_output(layer) * R)
    f = theano.function([l_in.input_var], get_output(layer), backend=backend.name)
    step = theano.function([l_in.input_var], loss, updates=sgd(loss, [layer.W], 0.5),
                           backend=backend.name)
    np.testing.assert_array_equal(f(idx), W[idx])
    step(idx)
    grad = np.zeros_like(W)
    np.add.at(grad, idx, R)                 # repeated indices add up
    np.testing.assert_allclose(layer.W.get_value(), W - 0.5 * grad, rtol=1e-14)


def test_trains(backend, train_step):
    l_in = InputLayer((None, 4), input_var=T.imatrix("idx"))
    layer = EmbeddingLayer(l_in, 6, 3, W=init.Normal(1.0))
    train_step(layer, np.array([[0, 5, 5, 2], [1, 1, 3, 0]], dtype="int32"), backend)
