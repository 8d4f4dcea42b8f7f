"""Seed 000, "Regression": a 1-2-2-1 sigmoid net learns y = f(x).

What the seed did: shows the symbolic variables of a net with two hidden
sigmoid layers of 2 units and one sigmoid output (``w1`` 2x2, ``w2`` 3x2,
``w3`` 3, each including the bias, from ``rng.rand``), and its test code:
random test points, sorted, ``expected = [f(t) for t in test]`` and
``predicted = [scaleBack(predict([t / xFactor])) for t in test]``, drawn as
two curves. It published a plot, no number.

What was reconstructed (the seed shows only those two cells): the function
f(x) = x^2 on [minX, maxX] = [-5, 10]; ``randomX(n)`` drawing n points
uniformly there; inputs divided by ``xFactor`` = max(|minX|, |maxX|) so they
lie in [-1, 1]; targets scaled to [0, 1] by ``scale`` (the sigmoid's range)
and mapped back by ``scaleBack``; the graph as in the seed's other nets
(``layer`` = sigmoid of the bias-extended input times the weights; output
``T.sum(layer(...))``; cost ``(output - y)**2``); training one sample at a
time, N = 1000 samples, nTrainSteps = 10000, alpha = 0.1,
nTestSamples = 1000 -- the settings of the author's own regression notebook.
We report the mean and largest absolute error of the predicted curve, and the
mean error as a fraction of f's range (100 on [-5, 10]).

What changed: the imports, Python 3 prints, ``config.floatX = "float64"``.
The seed's size is 10 million training calls (about 15 minutes here);
the default runs 300 sweeps and ``--full`` the seed's 10000.

    python examples/mlp_fit_x_squared.py
    python examples/mlp_fit_x_squared.py --full
"""
import argparse

import numpy

import layerkit.core as theano            # was: import theano
import layerkit.core.tensor as T          # was: import theano.tensor as T
import layerkit.core.tensor.nnet as nnet  # was: import theano.tensor.nnet as nnet


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true",
                        help="the reconstructed seed size: 10000 sweeps (about 15 minutes)")
    parser.add_argument("--steps", type=int, default=300, help="nTrainSteps (seed: 10000)")
    parser.add_argument("--samples", type=int, default=1000, help="N (seed: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="numpy random seed")
    args = parser.parse_args(argv)
    if args.full:
        args.steps, args.samples = 10000, 1000
    theano.config.floatX = "float64"      # the seed relied on Theano's default floatX
    numpy.random.seed(args.seed)

    rng = numpy.random # random number generator

    ### SETTINGS (reconstructed: hidden in the seed's slideshow) ###

    N = args.samples           # number of learning samples
    nTrainSteps = args.steps   # number of training steps
    alpha = 0.1                # learning rate
    nTestSamples = 1000        # number of testing samples

    def f (x):                 # function to find
        return x**2

    minX, maxX = -5, 10        # x range
    xFactor = max(abs(minX), abs(maxX)) # x / xFactor is in [-1, 1]

    def randomX (n, a = minX, b = maxX): # n random numbers in [a, b]
        return (b - a) * rng.sample(n) + a

    X = randomX(N)              # training points
    Y = [f(x) for x in X]       # their f values
    Xn = [x / xFactor for x in X]
    minY, maxY = min(Y), max(Y)

    def scale (y, a = minY, b = maxY):     # [a, b] -> [0, 1], the sigmoid's range
        return (y - a) / (b - a)

    def scaleBack (y, a = minY, b = maxY): # [0, 1] -> [a, b]
        return (b - a) * y + a

    Yn = [scale(y) for y in Y]

    ##### SYMBOLIC VARIABLES ###

    x = T.vector('x') # input
    y = T.scalar('y') # expected value

    w1 = theano.shared(rng.rand(2,2), name = 'w1') # first hidden layer's weights (including bias)
    w2 = theano.shared(rng.rand(3,2), name = 'w2') # second hidden layer's weights (including bias)
    w3 = theano.shared(rng.rand(3), name = 'w3') # output layer's weights (including bias)

    ### EXPRESSION GRAPH (reconstructed, as the seed's other nets) ###

    def layer (x, w):
        b = numpy.array([1]) # bias term
        xb = T.concatenate([x,b]) # input x with bias added
        return nnet.sigmoid(T.dot(w.T,xb))

    hiddenLayer1 = layer(x, w1)
    hiddenLayer2 = layer(hiddenLayer1, w2)
    outputLayer = T.sum(layer(hiddenLayer2, w3))
    cost = (outputLayer - y)**2

    def gradient (c, w): # cost function, weights
        return w - alpha * T.grad (c, w) # update weights

    train = theano.function(inputs = [x,y],
                            outputs = cost,
                            updates = [(w1, gradient(cost, w1)),
                                      (w2, gradient(cost, w2)),
                                      (w3, gradient(cost, w3))])

    predict = theano.function(inputs=[x], outputs=outputLayer)

    ### TRAIN ###

    for i in range (nTrainSteps):
        for j in range(N): c = train([Xn[j]], Yn[j])

    ### RESULTS ###

    test = (randomX(nTestSamples)) # random x values
    test.sort()                  # sorted x values

    expected = [f(t) for t in test] # expected values for test points
    predicted = [scaleBack(predict([t / xFactor])) for t in test] # predicted values for test points

    errors = numpy.abs(numpy.array(expected) - numpy.array(predicted))
    for t in numpy.linspace(minX, maxX, 7):
        print("f(%5.1f) = %6.2f   predicted %6.2f" % (t, f(t), scaleBack(predict([t / xFactor]))))
    print("mean |error| = %.3f, max |error| = %.3f (f ranges over %.1f)"
          % (errors.mean(), errors.max(), maxY - minY))

    return {"mean_abs_error": float(errors.mean()), "max_abs_error": float(errors.max()),
            "relative_error": float(errors.mean() / (maxY - minY))}


if __name__ == "__main__":
    main()
