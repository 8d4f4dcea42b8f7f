"""Seed 001, Theano-Tutorials 3: an "old" net (circa 2000) -- one sigmoid hidden layer.

What the seed did: 784 -> 625 sigmoid -> 10 softmax, weights N(0, 0.01), mean
categorical cross-entropy, a hand-written ``sgd`` over all parameters at
lr = 0.05, minibatches of 128, 100 epochs over MNIST, printing the test
accuracy. Published: "Test Accuracy: 98.4%".

What was reconstructed: the slide starts at line 6 of the program; lines 1-5
are the imports of tutorial 2 (theano, T, numpy as np, ``from load import
mnist``). ``load.mnist`` is replaced by ``data.mnist_like`` -- scikit-learn's
digits upsampled to 28 x 28, 1347 training / 450 test images, so an epoch is
10 minibatches instead of 468 (see data.py).

What changed: only the imports and Python 3 prints. The slide prints the
accuracy inside the minibatch loop (its indentation); the tutorial's
repository prints once per epoch, as here. The seed's 100 epochs take about 30 s here,
so they are the default.

    python examples/sigmoid_mlp_mnist_style.py
"""
import argparse

import numpy as np

import layerkit.core as theano            # was: import theano
from layerkit.core import tensor as T     # was: from theano import tensor as T
from data import mnist_like as mnist      # was: from load import mnist


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="epochs (seed: 100)")
    parser.add_argument("--ntrain", type=int, default=1347, help="training images (max 1347)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)

    def floatX(X):
        return np.asarray(X, dtype=theano.config.floatX)

    def init_weights(shape):
        return theano.shared(floatX(np.random.randn(*shape) * 0.01))

    def sgd(cost, params, lr=0.05):
        grads = T.grad(cost=cost, wrt=params)
        updates = []
        for p, g in zip(params, grads):
            updates.append([p, p - g * lr])
        return updates

    def model(X, w_h, w_o):
        h = T.nnet.sigmoid(T.dot(X, w_h))
        pyx = T.nnet.softmax(T.dot(h, w_o))
        return pyx

    trX, teX, trY, teY = mnist(onehot=True)
    trX, trY = trX[:args.ntrain], trY[:args.ntrain]

    X = T.fmatrix()
    Y = T.fmatrix()

    w_h = init_weights((784, 625))
    w_o = init_weights((625, 10))

    py_x = model(X, w_h, w_o)
    y_x = T.argmax(py_x, axis=1)

    cost = T.mean(T.nnet.categorical_crossentropy(py_x, Y))
    params = [w_h, w_o]
    updates = sgd(cost, params)

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
