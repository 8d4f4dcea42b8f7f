"""Seed 001, Theano-Tutorials 4: a "modern" net -- rectifiers, dropout, RMSprop.

What the seed did: 784 -> 625 ReLU -> 625 ReLU -> 10 softmax (weights
N(0, 0.01)); dropout of 0.2 on the input and 0.5 on the hidden layers during
training (``srng.binomial`` masks, rescaled by the retain probability), none
for prediction; a numerically stable softmax written by hand; a hand-written
``RMSprop`` (lr 0.001, rho 0.9, epsilon 1e-6); minibatches of 128 for 100
epochs over MNIST. Published: "Test Accuracy: 99.0%".

What was reconstructed: the slides show lines 14-51 (the functions and the
model). Lines 1-13 are the imports and helpers of tutorials 2 and 3 plus the
``RandomStreams`` import and ``srng = RandomStreams()`` that ``dropout``
uses (the tutorial's ``MRG_RandomStreams``; ``layerkit.core.RandomStreams``
stands in for both Theano stream classes). Lines 52 on follow tutorial 3's
pattern and the slide's notes: ``w_h`` 784x625, ``w_h2`` 625x625, ``w_o`` 625x10; a noisy
model (dropout 0.2, 0.5) for the cost and a clean one (0, 0) for prediction;
the cost on the noisy output; ``RMSprop(cost, params, lr=0.001)``; the same
training loop. ``load.mnist`` is replaced by ``data.mnist_like`` (digits
upsampled to 28 x 28, 1347 / 450 images, see data.py).

What changed: only the imports and Python 3 prints. The seed's 100 epochs
take about 30 s here, so they are the default.

    python examples/relu_dropout_rmsprop_mlp_mnist_style.py
"""
import argparse

import numpy as np

import layerkit.core as theano                      # was: import theano
from layerkit.core import tensor as T               # was: from theano import tensor as T
from layerkit.core import RandomStreams             # was: from theano.sandbox.rng_mrg import MRG_RandomStreams as RandomStreams
from data import mnist_like as mnist                # was: from load import mnist


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs (seed: 100)")
    parser.add_argument("--ntrain", type=int, default=1347, help="training images (max 1347)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)

    srng = RandomStreams()

    def floatX(X):
        return np.asarray(X, dtype=theano.config.floatX)

    def init_weights(shape):
        return theano.shared(floatX(np.random.randn(*shape) * 0.01))

    def rectify(X):
        return T.maximum(X, 0.)

    def softmax(X):
        e_x = T.exp(X - X.max(axis=1).dimshuffle(0, 'x'))
        return e_x / e_x.sum(axis=1).dimshuffle(0, 'x')

    def RMSprop(cost, params, lr=0.001, rho=0.9, epsilon=1e-6):
        grads = T.grad(cost=cost, wrt=params)
        updates = []
        for p, g in zip(params, grads):
            acc = theano.shared(p.get_value() * 0.)
            acc_new = rho * acc + (1 - rho) * g ** 2
            gradient_scaling = T.sqrt(acc_new + epsilon)
            g = g / gradient_scaling
            updates.append((acc, acc_new))
            updates.append((p, p - lr * g))
        return updates

    def dropout(X, p=0.):
        if p > 0:
            retain_prob = 1 - p
            X *= srng.binomial(X.shape, p=retain_prob, dtype=theano.config.floatX)
            X /= retain_prob
        return X

    def model(X, w_h, w_h2, w_o, p_drop_input, p_drop_hidden):
        X = dropout(X, p_drop_input)
        h = rectify(T.dot(X, w_h))

        h = dropout(h, p_drop_hidden)
        h2 = rectify(T.dot(h, w_h2))

        h2 = dropout(h2, p_drop_hidden)
        py_x = softmax(T.dot(h2, w_o))
        return h, h2, py_x

    # -- reconstructed from here on (the slides stop at line 51) --
    trX, teX, trY, teY = mnist(onehot=True)
    trX, trY = trX[:args.ntrain], trY[:args.ntrain]

    X = T.fmatrix()
    Y = T.fmatrix()

    w_h = init_weights((784, 625))
    w_h2 = init_weights((625, 625))
    w_o = init_weights((625, 10))

    noise_h, noise_h2, noise_py_x = model(X, w_h, w_h2, w_o, 0.2, 0.5)
    h, h2, py_x = model(X, w_h, w_h2, w_o, 0., 0.)
    y_x = T.argmax(py_x, axis=1)

    cost = T.mean(T.nnet.categorical_crossentropy(noise_py_x, Y))
    params = [w_h, w_h2, w_o]
    updates = RMSprop(cost, params, lr=0.001)

    train = theano.function(inputs=[X, Y], outputs=cost, updates=updates, allow_input_downcast=True)
    predict = theano.function(inputs=[X], outputs=y_x, allow_input_downcast=True)

    accuracies, costs = [], []
    for i in range(args.epochs):
        for start, end in zip(range(0, len(trX), 128), range(128, len(trX), 128)):
            cost = train(trX[start:end], trY[start:end])
        accuracies.append(np.mean(np.argmax(teY, axis=1) == predict(teX)))
        costs.append(float(cost))
        print(accuracies[-1])

    return {"accuracy": float(accuracies[-1]), "first_accuracy": float(accuracies[0]),
            "best_accuracy": float(max(accuracies)),
            "first_cost": costs[0], "last_cost": costs[-1]}


if __name__ == "__main__":
    main()
