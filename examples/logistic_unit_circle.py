"""Seed 000, "Logistic Regression": is a point inside the circle x^2 + y^2 < 2/3.14?

What the seed did: 1000 random points in [-1, 1]^2 with features
(x, y, x^2, y^2), labels 1 inside the circle of radius^2 = 2/3.14 (about half
the square). A logistic unit ``h = 1 / (1 + exp(-w.x - b))`` is trained with
the summed cross-entropy ``-y log h - (1 - y) log(1 - h)`` for 1000 full-batch
gradient steps (alpha = 0.01), then scored on 1000 fresh points. It printed
``w = [-0.158 0.200 -25.10 -25.06]``, ``b = 15.92`` and ``Score = 0.996``.

What changed: only the imports, Python 3 prints, and
``config.floatX = "float64"`` (the seed relied on Theano's default). The
seed's ``plotMe`` plots are left out; ``--seed`` fixes numpy's random state.
The hand-written sigmoid and cross-entropy are exactly the seed's (layerkit
rewrites them into their numerically stable forms, as Theano did). Runs in
about a second.

    python examples/logistic_unit_circle.py
"""
import argparse

import numpy

import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="nTrainSteps (seed: 1000)")
    parser.add_argument("--samples", type=int, default=1000, help="N (seed: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"      # the seed relied on Theano's default floatX
    numpy.random.seed(args.seed)

    rng = numpy.random # random number generator

    #### SETTINGS ####

    N = args.samples # number of samples
    n = 4    # number of features

    #### FUNCTIONS ####

    def isInCircle (point): # returns 1 (0) if point is (not) in circle
                            # (radius chosen so #inside ~ #outside)
        return int (point[0] * point[0] + point[1] * point[1] < 2 / 3.14)

    #### GENERATE SAMPLES ####

    randomPoints = (2.0 * rng.sample ((N, 2)) - 1) # [-1,1]x[-1,1]

    X = [[p[0], p[1], p[0]*p[0],p[1]*p[1]] for p in randomPoints]
    Y = [isInCircle(x) for x in randomPoints] # 1/0 -> inside/outside circle

    print("No. of points inside =", sum(Y))
    print("No. of points outside =", N - sum(Y))

    nTrainSteps = args.steps # number of training steps
    alpha = 0.01 # learning rate

    ### SYMBOLIC VARIABLES ###

    x = T.matrix('x') # feature vector
    y = T.vector('y') # target vector

    w = theano.shared(rng.randn(n), name = 'w') # n weights initialized randomly
    b = theano.shared(rng.randn(), name = 'b') # bias term (w_0)

    ### EXPRESSION GRAPH ###

    h = 1 / (1 + T.exp(-T.dot(x, w) - b)) # hypothesis
    prediction = h > 0.5 # prediction threshold
    xent = - y * T.log(h) - (1 - y) * T.log(1 - h) # cross-entropy loss function
    cost = xent.sum() # cost function
    gw, gb = T.grad(cost, [w,b]) # gradients

    ### COMPILE ###

    train = theano.function(inputs = [x,y],
                            outputs = cost,
                            updates = ((w, w - alpha * gw),
                                       (b, b - alpha * gb)))

    ### TRAIN ###

    costs = [] # value of cost function in each training step

    for i in range(nTrainSteps): costs.append(train(X, Y))

    print("w =", w.get_value())
    print("b =", b.get_value())

    ### COMPILE THEANO FUNTION ###

    predict = theano.function(inputs = [x], outputs = prediction)

    ### SETTINGS ###

    score = 0
    nTest = 1000 # number of testing samples

    ### TESTING SAMPLES ###

    randomPoints = (2.0 * rng.sample ((nTest, 2)) - 1) # random points [-1,1]x[-1,1]
    testSample = [[p[0], p[1], p[0] * p[0], p[1] * p[1]] for p in randomPoints]

    ### PREDICT AND CALCULATE SCORE ###

    result = predict (testSample) # predict inside / outside for testing sample

    for i in range(nTest):
        if result[i] == isInCircle(randomPoints[i]): score += 1

    print("Score = ", 1.0 * score / nTest)

    return {"score": 1.0 * score / nTest, "w": w.get_value().tolist(),
            "b": float(b.get_value()), "first_cost": float(costs[0]),
            "last_cost": float(costs[-1])}


if __name__ == "__main__":
    main()
