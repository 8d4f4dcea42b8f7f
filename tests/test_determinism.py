"""layerkit.random.seed(n) makes a whole training run (initialisation and
dropout) bitwise reproducible on the numpy backend."""
import numpy as np

import layerkit as lasagne
import layerkit.core as theano
import layerkit.core.tensor as T


def _train(seed):
    lasagne.random.seed(seed)
    net = lasagne.layers.InputLayer((None, 6))
    net = lasagne.layers.DenseLayer(net, 16)
    net = lasagne.layers.DropoutLayer(net, p=0.3)
    net = lasagne.layers.DenseLayer(net, 3, nonlinearity=lasagne.nonlinearities.softmax)
    y = T.ivector("y")
    loss = lasagne.objectives.categorical_crossentropy(lasagne.layers.get_output(net), y).mean()
    params = lasagne.layers.get_all_params(net, trainable=True)
    x = lasagne.layers.get_all_layers(net)[0].input_var
    train = theano.function([x, y], loss, backend="numpy",
                            updates=lasagne.updates.adam(loss, params, learning_rate=0.01))
    data = np.random.RandomState(0)
    X = data.rand(32, 6).astype("float32")
    Y = data.randint(0, 3, 32).astype("int32")
    for _ in range(25):
        train(X, Y)
    return lasagne.layers.get_all_param_values(net)


def test_same_seed_gives_bitwise_identical_parameters():
    a, b = _train(7), _train(7)
    for x, y in zip(a, b):
        assert x.tobytes() == y.tobytes()


def test_another_seed_gives_other_parameters():
    a, b = _train(7), _train(8)
    assert any(x.tobytes() != y.tobytes() for x, y in zip(a, b))
