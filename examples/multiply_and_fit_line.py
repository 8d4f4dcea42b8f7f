"""Seed 001, Theano-Tutorials 0 and 1: multiply two scalars; fit y = 2x by SGD.

What the seed did (Alec Radford's talk "From multiplication to convolutional
networks", code at github.com/Newmu/Theano-Tutorials): first a symbolic
``y = a * b`` compiled into ``multiply`` (printing 2 and 9), then linear
regression through the origin -- 101 points ``trX = linspace(-1, 1, 101)``,
``trY = 2 * trX + N(0, 0.33)``, model ``X * w``, cost ``mean(sqr(y - Y))``,
SGD with learning rate 0.01 on one (x, y) pair at a time, 100 passes. The
slides publish no number for it; the fitted w should come out near 2.

What changed: only the imports and Python 3 prints; the seed's code is
complete. The tutorials run with layerkit's default floatX (float32, as the
tutorials' ``T.fmatrix`` inputs suggest they were run). ``--seed`` fixes
numpy's random state. Runs in about a second.

    python examples/multiply_and_fit_line.py
"""
import argparse

import numpy as np

import layerkit.core as theano            # was: import theano
from layerkit.core import tensor as T     # was: from theano import tensor as T


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100, help="passes over the data (seed: 100)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    np.random.seed(args.seed)

    # 0_multiply: a very simple model
    a = T.scalar()
    b = T.scalar()

    y = a * b

    multiply = theano.function(inputs=[a, b], outputs=y)

    print(multiply(1, 2)) #2
    print(multiply(3, 3)) #9
    products = [float(multiply(1, 2)), float(multiply(3, 3))]

    # 1_linear_regression
    trX = np.linspace(-1, 1, 101)
    trY = 2 * trX + np.random.randn(*trX.shape) * 0.33

    X = T.scalar()
    Y = T.scalar()

    def model(X, w):
        return X * w

    w = theano.shared(np.asarray(0., dtype=theano.config.floatX))
    y = model(X, w)

    cost = T.mean(T.sqr(y - Y))
    gradient = T.grad(cost=cost, wrt=w)
    updates = [[w, w - gradient * 0.01]]

    train = theano.function(inputs=[X, Y], outputs=cost, updates=updates, allow_input_downcast=True)

    for i in range(args.epochs):
        for x, y in zip(trX, trY):
            train(x, y)

    print("w =", w.get_value())  # (not printed by the seed) close to the true slope 2
    return {"products": products, "w": float(w.get_value()),
            "lstsq_w": float(np.dot(trX, trY) / np.dot(trX, trX))}


if __name__ == "__main__":
    main()
