"""Seed 001, Theano-Tutorials 2: softmax (multinomial logistic) regression on digits.

What the seed did: ``py_x = softmax(dot(X, w))`` with a 784 x 10 weight
matrix (init N(0, 0.01)), mean categorical cross-entropy, plain SGD at 0.05
on minibatches of 128, 100 epochs over MNIST's 60 000 training images,
printing the test accuracy each epoch. Published: "Test Accuracy: 92.5%".

What was reconstructed: the tutorial's ``load.py`` (``from load import
mnist``) is not in the seed and MNIST is not downloaded here; ``data.mnist_like``
stands in with the same signature and shapes -- scikit-learn's bundled
handwritten digits upsampled to 28 x 28 (1347 training and 450 test images;
see data.py). With 45x fewer training images an epoch is 10 minibatches
instead of 468, so "100 epochs" is 1000 updates, not 46 800.

What changed: only the imports (``from data import mnist_like as mnist``
for ``from load import mnist``) and Python 3 prints. The slide's indentation
puts the accuracy print inside the minibatch loop; the tutorial's repository
prints once per epoch, as here. The seed's 100 epochs run in a few seconds,
so they are the default.

    python examples/softmax_regression_mnist_style.py
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

    def model(X, w):
        return T.nnet.softmax(T.dot(X, w))

    trX, teX, trY, teY = mnist(onehot=True)
    trX, trY = trX[:args.ntrain], trY[:args.ntrain]

    X = T.fmatrix()
    Y = T.fmatrix()

    w = init_weights((784, 10))

    py_x = model(X, w)
    y_pred = T.argmax(py_x, axis=1)

    cost = T.mean(T.nnet.categorical_crossentropy(py_x, Y))
    gradient = T.grad(cost=cost, wrt=w)
    update = [[w, w - gradient * 0.05]]

    train = theano.function(inputs=[X, Y], outputs=cost, updates=update, allow_input_downcast=True)
    predict = theano.function(inputs=[X], outputs=y_pred, allow_input_downcast=True)

    accuracies, costs = [], []
    for i in range(args.epochs):
        for start, end in zip(range(0, len(trX), 128), range(128, len(trX), 128)):
            cost = train(trX[start:end], trY[start:end])
        accuracies.append(np.mean(np.argmax(teY, axis=1) == predict(teX)))
        costs.append(float(cost))
        print(i, accuracies[-1])

    return {"accuracy": float(accuracies[-1]), "first_accuracy": float(accuracies[0]),
            "best_accuracy": float(max(accuracies)),
            "first_cost": costs[0], "last_cost": costs[-1]}


if __name__ == "__main__":
    main()
