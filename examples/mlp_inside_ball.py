"""Seed 000, "Points inside / outside ball": a 3-7-1 sigmoid net classifies points.

What the seed did: N = 1000 random points in [-1, 1]^3, label 1 inside the
unit ball (about half of them). A hidden layer of 7 sigmoid units and one
sigmoid output (weights from ``rng.rand``, the bias as an extra input of 1),
trained one sample at a time with the squared error for nTrainSteps = 10000
sweeps over the 1000 points (10 million training calls) at alpha = 0.01, then
tested on 1000 fresh points, one ``predict`` call each. It printed
``Score = 0.963``.

What was reconstructed: the seed's imports and ``rng`` are "hidden in the
slideshow"; they are the same as in its XOR cell (theano, T, nnet, numpy,
``rng = numpy.random``) and are written out here.

What changed: the imports, Python 3 prints, ``config.floatX = "float64"``
(the seed relied on Theano's default); the sample-count prints stand in for
the seed's plot. 10 million calls take about 15 minutes here, so the default
runs 300 sweeps (300 000 calls, under a minute) and ``--full`` runs the
seed's 10000. ``--seed`` fixes numpy's random state.

    python examples/mlp_inside_ball.py            # 300 sweeps
    python examples/mlp_inside_ball.py --full     # the seed's 10000 sweeps
"""
import argparse

import numpy

import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
import layerkit.core.tensor.nnet as nnet  # was: import theano.tensor.nnet as nnet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the seed's size: 10000 sweeps (about 15 minutes)")
    parser.add_argument("--steps", type=int, default=300, help="nTrainSteps (seed: 10000)")
    parser.add_argument("--samples", type=int, default=1000, help="N (seed: 1000)")
    parser.add_argument("--test", type=int, default=1000, help="nTestSamples (seed: 1000)")
    parser.add_argument("--alpha", type=float, default=0.01, help="learning rate (seed: 0.01)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    if args.full:
        args.steps, args.samples, args.test = 10000, 1000, 1000
    theano.config.floatX = "float64"      # the seed relied on Theano's default floatX
    numpy.random.seed(args.seed)

    rng = numpy.random # random number generator

    #### SETTINGS ####

    N = args.samples          # number of samples
    nTrainSteps = args.steps # number of training steps
    alpha = args.alpha      # learning rate
    nTestSamples = args.test # number of testing samples

    #### GENERATE SAMPLES ####

    def isInBall (p):
        return int (p[0] * p[0] + p[1] * p[1] + p[2] * p[2] < 1)

    X = (2.0 * rng.sample ((N, 3)) - 1) # random points [-1,1]x[-1,1]x[-1,1]
    Y = [isInBall(x) for x in X]        # 1/0 for points inside/outside ball

    print("No. of points inside =", sum(Y))
    print("No. of points outside =", N - sum(Y))

    ### SYMBOLIC VARIABLES ###

    x = T.vector('x') # input
    y = T.scalar('y') # expected value

    w1 = theano.shared(rng.rand(4,7), name = 'w1') # hidden layer's weights (including bias)
    w2 = theano.shared(rng.rand(8), name = 'w2')    # output layer's weights (including bias)

    ### EXPRESSION GRAPH ###

    def layer (x, w):                # inputs, weights
        b = numpy.array([1])         # bias term
        xb = T.concatenate([x,b])    # input x with bias added
        return nnet.sigmoid(T.dot(w.T, xb))

    hiddenLayer = layer (x, w1)      # hidden layer
    outputLayer = T.sum(layer(hiddenLayer, w2)) # output layer
    cost = (outputLayer - y)**2      # cost function
    prediction = outputLayer > 0.5    # prediction threshold

    def gradient (c, w):             # cost function, weights
        return w - alpha * T.grad (c, w) # update weights

    ### COMPILE ###

    train = theano.function(inputs = [x,y],
                            outputs = cost,
                            updates = [(w1, gradient(cost, w1)),
                                      (w2, gradient(cost, w2))])

    predict = theano.function(inputs=[x], outputs=prediction)

    ### TRAIN ###

    for i in range (nTrainSteps):
        for j in range(N):
            c = train(X[j], Y[j])

    ### TEST ###

    score = 0

    for i in range(nTestSamples):
        p = (2.0 * rng.sample (3) - 1)
        if predict(p) == isInBall(p): score += 1

    print('Score =', 1.0 * score / nTestSamples)

    return {"score": 1.0 * score / nTestSamples, "inside": int(sum(Y)), "last_cost": float(c)}


if __name__ == "__main__":
    main()
