"""Seed 000, "Multiclass classification": which of 6 regions of the unit square?

What the seed did: a net of two hidden sigmoid layers of nClasses units and a
sigmoid output layer of nClasses units (each layer's weights include the bias,
drawn from ``rng.rand``) learns a one-hot class of a 2-D point with the summed
squared error, one sample at a time; it is tested on random points in
[0, 1)^2, counting a hit when the largest output is the true class
(``p.index(max(p)) == getClass(t)``). It printed ``Score = 0.982``.

What was reconstructed: the seed shows the network, training and test code,
but its settings and data cell are only a plot. We rebuild it as the test code
implies: points uniform in [0, 1)^2, the square cut into a grid of
xSeg = 3 by ySeg = 2 cells (nClasses = 6), ``getClass`` returning the cell's
index and the targets its one-hot row; nTrainSamples = 1000,
nTrainSteps = 100, alpha = 0.25, nTestSamples = 1000 -- the settings of the
author's own multiclass notebook, which the seed's slides summarise.

What changed: the imports, Python 3 prints and ``config.floatX = "float64"``
(the seed relied on Theano's default). ``--seed`` fixes numpy's random state.
The seed's size (100 000 training calls) runs in about 15 s here, so it is the
default.

    python examples/mlp_six_regions.py
"""
import argparse

import numpy

import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
import layerkit.core.tensor.nnet as nnet  # was: import theano.tensor.nnet as nnet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100, help="nTrainSteps (reconstructed: 100)")
    parser.add_argument("--samples", type=int, default=1000,
                        help="nTrainSamples (reconstructed: 1000)")
    parser.add_argument("--test", type=int, default=1000, help="nTestSamples (1000)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    theano.config.floatX = "float64"      # the seed relied on Theano's default floatX
    numpy.random.seed(args.seed)

    rng = numpy.random # random number generator

    ### SETTINGS (reconstructed: hidden in the seed's slideshow) ###

    nTrainSamples = args.samples # number of learning samples
    nTrainSteps = args.steps     # number of training steps
    alpha = 0.25                 # learning rate
    nTestSamples = args.test     # number of testing samples

    xSeg, ySeg = 3, 2            # the unit square cut into xSeg x ySeg cells
    nClasses = xSeg * ySeg

    def getClass (p):            # the cell of point p in [0,1)x[0,1)
        return int(p[1] * ySeg) * xSeg + int(p[0] * xSeg)

    def oneHot (p):              # e.g. class 2 -> [0,0,1,0,0,0]
        y = [0] * nClasses
        y[getClass(p)] = 1
        return y

    X = rng.sample((nTrainSamples, 2))  # random points in [0,1)x[0,1)
    Y = [oneHot(p) for p in X]

    ##### SYMBOLIC VARIABLES ###

    x = T.vector('x') # input (vector to extend by bias)
    y = T.vector('y') # expected value

    # first hidden layer's weights (including bias)
    w1 = theano.shared(rng.rand(3,nClasses), name = 'w1')
    # second hidden layer's weights (including bias)
    w2 = theano.shared(rng.rand(nClasses + 1, nClasses), name = 'w2')
    # output layer's weights (including bias)
    w3 = theano.shared(rng.rand(nClasses + 1, nClasses), name = 'w3')

    ### EXPRESSION GRAPH ###

    def layer (x, w):
        b = numpy.array([1]) # bias term
        xb = T.concatenate([x,b]) # input x with bias added
        return nnet.sigmoid(T.dot(w.T,xb))

    hiddenLayer1 = layer(x, w1) # hidden layer 1
    hiddenLayer2 = layer(hiddenLayer1, w2) # hidden layer 2
    outputLayer = layer(hiddenLayer2, w3) # output layer

    cost = T.sum(T.pow(outputLayer - y, 2)) # cost function

    def gradient (c, w): # cost function, weights
        return w - alpha * T.grad (c, w) # update weights

    ### COMPILE ###
    train = theano.function(inputs = [x,y],
                            outputs = cost,
                            updates = [(w1, gradient(cost, w1)),
                                      (w2, gradient(cost, w2)),
                                      (w3, gradient(cost, w3))])

    predict = theano.function(inputs=[x], outputs=outputLayer)
    ### TRAIN ###
    for i in range (nTrainSteps):
        for j in range(nTrainSamples): c = train(X[j], Y[j])
    ### TEST ###
    score = 0 # final score
    good = [] # correctly reconstructed points
    bad = [] # not correctly ...

    for i in range(nTestSamples):
        t = rng.sample(2)
        p = predict(t).tolist()
        if p.index(max(p)) == getClass (t):
            score += 1
            good.append(t)
        else: bad.append(t)

    print('\nScore =', 1.0 * score / nTestSamples)

    return {"score": 1.0 * score / nTestSamples, "classes": nClasses}


if __name__ == "__main__":
    main()
