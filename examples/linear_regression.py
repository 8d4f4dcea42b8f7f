"""Seed 000, "Linear Regression": fit a line to 100 noisy points by gradient descent.

What the seed did: Tomasz Golan's "Introduction to Theano" (MLVF meeting,
2016) draws N = 100 points y = 0.5 x + 0.5 + N(0, 0.25) with x in [0, 10),
builds the squared-error cost of ``w x + b`` symbolically, takes ``T.grad``,
and runs 1000 full-batch gradient steps with alpha = 0.01 / N. It printed
``f(x) = 0.50 * x + 0.47``.

What changed: only the imports (``layerkit.core`` for ``theano``), the print
made a call, and ``config.floatX = "float64"`` because the seed relied on
Theano's default float64 (its data and shared values are float64). The
matplotlib plots are left out; ``--seed`` fixes numpy's random state.
Nothing was missing from the seed. Runs in about a second.

    python examples/linear_regression.py
"""
import argparse

import numpy

import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="nTrainSteps (seed: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"      # the seed relied on Theano's default floatX
    numpy.random.seed(args.seed)

    rng = numpy.random # random number generator

    #### SETTINGS ####

    N = 100 # number of samples

    a = 0.50 # slope
    b = 0.50 # y-intercept
    s = 0.25 # sigma

    #### GENERATE SAMPLES ####

    X = (10.0 * rng.sample(N)) # features
    Y = [(a * X[i] + b) + rng.normal(0,s) for i in range(N)] # targets

    nTrainSteps = args.steps # number of training steps
    alpha = 0.01 / N # learning rate

    ### SYMBOLIC VARIABLES ###

    x = T.vector('x') # feature vector
    y = T.vector('y') # target vector

    w = theano.shared(rng.randn(), name = 'w') # random weights
    b = theano.shared(rng.randn(), name = 'b') # bias term (w_0)

    ### EXPRESSION GRAPH ###

    prediction = T.dot(x, w) + b # hypothesis
    cost = T.sum(T.pow(prediction - y,2)) # cost function
    gw, gb = T.grad(cost, [w,b]) # gradients

    ### COMPILE ###

    # update weights to minimize cost
    train = theano.function(inputs = [x,y],
                            outputs = cost,
                            updates = ((w, w - alpha * gw),
                                       (b, b - alpha * gb)))

    ### TRAIN ###

    costs = [] # value of cost function in each training step
    for i in range(nTrainSteps): costs.append(train(X, Y))
    print("f(x) = %.2f * x + %.2f" % (w.get_value(), b.get_value()))

    return {"w": float(w.get_value()), "b": float(b.get_value()),
            "first_cost": float(costs[0]), "last_cost": float(costs[-1]),
            "lstsq": [float(v) for v in numpy.polyfit(X, Y, 1)]}


if __name__ == "__main__":
    main()
